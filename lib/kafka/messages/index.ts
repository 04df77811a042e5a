// Written by vendor.ts: do not edit by hand.

import ApiVersionsRequest from './ApiVersionsRequest.json' with { type: 'json' };
import ApiVersionsResponse from './ApiVersionsResponse.json' with { type: 'json' };
import CreatePartitionsRequest from './CreatePartitionsRequest.json' with { type: 'json' };
import CreatePartitionsResponse from './CreatePartitionsResponse.json' with { type: 'json' };
import CreateTopicsRequest from './CreateTopicsRequest.json' with { type: 'json' };
import CreateTopicsResponse from './CreateTopicsResponse.json' with { type: 'json' };
import DeleteRecordsRequest from './DeleteRecordsRequest.json' with { type: 'json' };
import DeleteRecordsResponse from './DeleteRecordsResponse.json' with { type: 'json' };
import DeleteTopicsRequest from './DeleteTopicsRequest.json' with { type: 'json' };
import DeleteTopicsResponse from './DeleteTopicsResponse.json' with { type: 'json' };
import DescribeConfigsRequest from './DescribeConfigsRequest.json' with { type: 'json' };
import DescribeConfigsResponse from './DescribeConfigsResponse.json' with { type: 'json' };
import DescribeGroupsRequest from './DescribeGroupsRequest.json' with { type: 'json' };
import DescribeGroupsResponse from './DescribeGroupsResponse.json' with { type: 'json' };
import FetchRequest from './FetchRequest.json' with { type: 'json' };
import FetchResponse from './FetchResponse.json' with { type: 'json' };
import FindCoordinatorRequest from './FindCoordinatorRequest.json' with { type: 'json' };
import FindCoordinatorResponse from './FindCoordinatorResponse.json' with { type: 'json' };
import HeartbeatRequest from './HeartbeatRequest.json' with { type: 'json' };
import HeartbeatResponse from './HeartbeatResponse.json' with { type: 'json' };
import InitProducerIdRequest from './InitProducerIdRequest.json' with { type: 'json' };
import InitProducerIdResponse from './InitProducerIdResponse.json' with { type: 'json' };
import JoinGroupRequest from './JoinGroupRequest.json' with { type: 'json' };
import JoinGroupResponse from './JoinGroupResponse.json' with { type: 'json' };
import LeaveGroupRequest from './LeaveGroupRequest.json' with { type: 'json' };
import LeaveGroupResponse from './LeaveGroupResponse.json' with { type: 'json' };
import ListGroupsRequest from './ListGroupsRequest.json' with { type: 'json' };
import ListGroupsResponse from './ListGroupsResponse.json' with { type: 'json' };
import ListOffsetsRequest from './ListOffsetsRequest.json' with { type: 'json' };
import ListOffsetsResponse from './ListOffsetsResponse.json' with { type: 'json' };
import MetadataRequest from './MetadataRequest.json' with { type: 'json' };
import MetadataResponse from './MetadataResponse.json' with { type: 'json' };
import OffsetCommitRequest from './OffsetCommitRequest.json' with { type: 'json' };
import OffsetCommitResponse from './OffsetCommitResponse.json' with { type: 'json' };
import OffsetFetchRequest from './OffsetFetchRequest.json' with { type: 'json' };
import OffsetFetchResponse from './OffsetFetchResponse.json' with { type: 'json' };
import ProduceRequest from './ProduceRequest.json' with { type: 'json' };
import ProduceResponse from './ProduceResponse.json' with { type: 'json' };
import RequestHeader from './RequestHeader.json' with { type: 'json' };
import ResponseHeader from './ResponseHeader.json' with { type: 'json' };
import SaslAuthenticateRequest from './SaslAuthenticateRequest.json' with { type: 'json' };
import SaslAuthenticateResponse from './SaslAuthenticateResponse.json' with { type: 'json' };
import SaslHandshakeRequest from './SaslHandshakeRequest.json' with { type: 'json' };
import SaslHandshakeResponse from './SaslHandshakeResponse.json' with { type: 'json' };
import SyncGroupRequest from './SyncGroupRequest.json' with { type: 'json' };
import SyncGroupResponse from './SyncGroupResponse.json' with { type: 'json' };

/** The vendored apache/kafka message definitions, as parsed JSON (validated by protocol/schema.ts). */
export const MESSAGE_DEFINITIONS: readonly unknown[] = [
  RequestHeader,
  ResponseHeader,
  ProduceRequest,
  ProduceResponse,
  FetchRequest,
  FetchResponse,
  ListOffsetsRequest,
  ListOffsetsResponse,
  MetadataRequest,
  MetadataResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
  FindCoordinatorRequest,
  FindCoordinatorResponse,
  JoinGroupRequest,
  JoinGroupResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  LeaveGroupRequest,
  LeaveGroupResponse,
  SyncGroupRequest,
  SyncGroupResponse,
  DescribeGroupsRequest,
  DescribeGroupsResponse,
  ListGroupsRequest,
  ListGroupsResponse,
  ApiVersionsRequest,
  ApiVersionsResponse,
  CreateTopicsRequest,
  CreateTopicsResponse,
  DeleteTopicsRequest,
  DeleteTopicsResponse,
  DeleteRecordsRequest,
  DeleteRecordsResponse,
  InitProducerIdRequest,
  InitProducerIdResponse,
  DescribeConfigsRequest,
  DescribeConfigsResponse,
  CreatePartitionsRequest,
  CreatePartitionsResponse,
  SaslHandshakeRequest,
  SaslHandshakeResponse,
  SaslAuthenticateRequest,
  SaslAuthenticateResponse,
];

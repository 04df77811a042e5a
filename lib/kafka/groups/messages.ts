/*
 * The decoded shapes (lib/kafka/protocol: camelCase fields, absent fields at their defaults) of the
 * group APIs' requests and the responses the coordinator returns, field names as in
 * lib/kafka/messages/<Api>{Request,Response}.json. Responses carry every field of every version;
 * the server fits them to the version it encodes.
 */

export interface FindCoordinatorRequest {
  /** v0-3. */
  readonly key: string;
  /** v1+: 0 group, 1 transaction. */
  readonly keyType: number;
  /** v4+. */
  readonly coordinatorKeys: readonly string[];
}

export interface Coordinator {
  readonly key: string;
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

export interface FindCoordinatorResponse extends Omit<Coordinator, 'key'> {
  readonly throttleTimeMs: number;
  /** v4+. */
  readonly coordinators: readonly Coordinator[];
}

export interface JoinGroupRequest {
  readonly groupId: string;
  readonly sessionTimeoutMs: number;
  /** v1+; -1 (v0): the session timeout. */
  readonly rebalanceTimeoutMs: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly protocolType: string;
  readonly protocols: readonly { readonly name: string; readonly metadata: Uint8Array }[];
  readonly reason?: string | null;
}

export interface JoinGroupResponse {
  readonly throttleTimeMs: number;
  readonly errorCode: number;
  readonly generationId: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly leader: string;
  readonly skipAssignment: boolean;
  readonly memberId: string;
  readonly members: readonly {
    readonly memberId: string;
    readonly groupInstanceId: string | null;
    readonly metadata: Uint8Array;
  }[];
}

export interface SyncGroupRequest {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignments: readonly { readonly memberId: string; readonly assignment: Uint8Array }[];
}

export interface SyncGroupResponse {
  readonly throttleTimeMs: number;
  readonly errorCode: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignment: Uint8Array;
}

export interface HeartbeatRequest {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
}

export interface HeartbeatResponse {
  readonly throttleTimeMs: number;
  readonly errorCode: number;
}

export interface LeaveGroupRequest {
  readonly groupId: string;
  /** v0-2. */
  readonly memberId: string;
  /** v3+. */
  readonly members: readonly { readonly memberId: string; readonly groupInstanceId: string | null }[];
}

export interface LeaveGroupResponse {
  readonly throttleTimeMs: number;
  readonly errorCode: number;
  readonly members: readonly {
    readonly memberId: string;
    readonly groupInstanceId: string | null;
    readonly errorCode: number;
  }[];
}

export interface OffsetCommitRequest {
  readonly groupId: string;
  /** v1+; -1: a commit outside any generation. */
  readonly generationIdOrMemberEpoch: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly topics: readonly {
    readonly name: string;
    readonly partitions: readonly {
      readonly partitionIndex: number;
      readonly committedOffset: bigint | number;
      readonly committedMetadata: string | null;
    }[];
  }[];
}

export interface OffsetCommitResponse {
  readonly throttleTimeMs: number;
  readonly topics: readonly {
    readonly name: string;
    readonly partitions: readonly { readonly partitionIndex: number; readonly errorCode: number }[];
  }[];
}

export interface OffsetFetchRequest {
  /** v0-7. */
  readonly groupId: string;
  /** v0-7; null (v2+): every topic the group committed. */
  readonly topics: readonly { readonly name: string; readonly partitionIndexes: readonly number[] }[] | null;
  /** v8+. */
  readonly groups: readonly {
    readonly groupId: string;
    readonly topics:
      | readonly { readonly name: string; readonly partitionIndexes: readonly number[] }[]
      | null;
  }[];
  readonly requireStable: boolean;
}

export interface FetchedPartition {
  readonly partitionIndex: number;
  readonly committedOffset: bigint;
  readonly committedLeaderEpoch: number;
  readonly metadata: string | null;
  readonly errorCode: number;
}

export interface FetchedTopic {
  readonly name: string;
  readonly partitions: readonly FetchedPartition[];
}

export interface OffsetFetchResponse {
  readonly throttleTimeMs: number;
  /** v0-7. */
  readonly topics: readonly FetchedTopic[];
  /** v2-7. */
  readonly errorCode: number;
  /** v8+. */
  readonly groups: readonly {
    readonly groupId: string;
    readonly topics: readonly FetchedTopic[];
    readonly errorCode: number;
  }[];
}

export interface DescribeGroupsRequest {
  readonly groups: readonly string[];
  readonly includeAuthorizedOperations: boolean;
}

export interface DescribedGroup {
  readonly errorCode: number;
  readonly groupId: string;
  readonly groupState: string;
  readonly protocolType: string;
  readonly protocolData: string;
  readonly members: readonly {
    readonly memberId: string;
    readonly groupInstanceId: string | null;
    readonly clientId: string;
    readonly clientHost: string;
    readonly memberMetadata: Uint8Array;
    readonly memberAssignment: Uint8Array;
  }[];
  readonly authorizedOperations: number;
}

export interface DescribeGroupsResponse {
  readonly throttleTimeMs: number;
  readonly groups: readonly DescribedGroup[];
}

export interface ListGroupsRequest {
  /** v4+. */
  readonly statesFilter: readonly string[];
  /** v5+. */
  readonly typesFilter: readonly string[];
}

export interface ListGroupsResponse {
  readonly throttleTimeMs: number;
  readonly errorCode: number;
  readonly groups: readonly {
    readonly groupId: string;
    readonly protocolType: string;
    readonly groupState: string;
    readonly groupType: string;
  }[];
}

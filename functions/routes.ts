/**
 * Which handler group serves which route. The CDK construct and the local server both wire routes
 * from this table, so AWS and `npm start` serve the same API.
 */
export type HandlerGroup = 'topics' | 'produce' | 'fetch' | 'groups';

export interface RouteSpec {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly group: HandlerGroup;
}

export const ROUTES: readonly RouteSpec[] = [
  { method: 'POST', path: '/topics', group: 'topics' },
  { method: 'GET', path: '/topics', group: 'topics' },
  { method: 'GET', path: '/topics/{topic}', group: 'topics' },
  { method: 'DELETE', path: '/topics/{topic}', group: 'topics' },
  { method: 'DELETE', path: '/topics/{topic}/partitions/{partition}/records', group: 'topics' },
  { method: 'POST', path: '/topics/{topic}/records', group: 'produce' },
  { method: 'POST', path: '/producers', group: 'produce' },
  { method: 'GET', path: '/topics/{topic}/partitions/{partition}/records', group: 'fetch' },
  { method: 'GET', path: '/topics/{topic}/partitions/{partition}/offsets', group: 'fetch' },
  { method: 'PUT', path: '/groups/{group}/offsets', group: 'groups' },
  { method: 'GET', path: '/groups/{group}/offsets', group: 'groups' },
  { method: 'POST', path: '/groups/{group}/offsets/reset', group: 'groups' },
  { method: 'GET', path: '/groups', group: 'groups' },
  { method: 'POST', path: '/groups/{group}/members', group: 'groups' },
  { method: 'POST', path: '/groups/{group}/members/{member}/heartbeat', group: 'groups' },
  { method: 'DELETE', path: '/groups/{group}/members/{member}', group: 'groups' },
  { method: 'PUT', path: '/groups/{group}/members/{member}/offsets', group: 'groups' },
];

export const routeKey = (route: RouteSpec) => `${route.method} ${route.path}`;

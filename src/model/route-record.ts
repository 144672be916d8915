/** One routed request as the router reports it to the access log, the metrics and the dashboard. */
export interface RouteRecord {
  time: string;
  endpoint: string;
  request_id: string;
  deployment: string | null;
  mirrored: boolean;
  status: number;
  latency_ms: number;
}

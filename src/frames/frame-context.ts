/**
 * What the frames of one interface are built from: its MAC, the upstream router's MAC for directed
 * requests (null: none known), and whether NAs carry the router flag.
 */
export interface FrameContext {
  mac: Uint8Array;
  upstream: Uint8Array | null;
  router: boolean;
}

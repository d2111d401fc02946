/**
 * Mounting a request handler on one path of an existing node:http server without changing the server's own code:
 * requests for that path go to the handler, every other request to the listeners the server already had.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/**
 * Routes requests whose path is exactly `path` (query ignored) to `handle`.
 * @returns a function that restores the server's original routing.
 */
export function mountOnPath(server: Server, path: string, handle: (req: IncomingMessage, res: ServerResponse) => void): () => void {
  const original = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  server.removeAllListeners('request');
  const route = (req: IncomingMessage, res: ServerResponse): void => {
    const p = (req.url ?? '/').split('?')[0];
    if (p === path) handle(req, res);
    else for (const l of original) l.call(server, req, res);
  };
  server.on('request', route);
  return () => {
    server.off('request', route);
    for (const l of original) server.on('request', l);
  };
}

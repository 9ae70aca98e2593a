/**
 * A local HTTP server laid out as the Hugging Face hub serves files: `/{owner}/{name}/resolve/{revision}/{file}`.
 * Large files (weights) answer 302 to a second path, as the hub redirects to its storage; every file
 * has Content-Length and an ETag (a conditional request with it gets 304); absent files are 404; a
 * gated repo answers 401 unless the request carries its token. CORS is open, so pages on another
 * port can use it. Every request is logged (method, path, status) for tests to inspect.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';

export interface HubRepo {
  /** "owner/name" */
  id: string;
  /** The folder whose files the repo serves (file name -> bytes are read once, at start). */
  dir: string;
  /** A gated repo: only `Authorization: Bearer <token>` gets its files. */
  token?: string;
}

export interface HubServer {
  endpoint: string;
  log: { method: string; path: string; status: number; conditional: boolean; auth: boolean }[];
  /** Replaces a file's content (a new upload: new ETag). */
  update(repo: string, file: string, bytes: Uint8Array): void;
  close(): Promise<void>;
}

const REDIRECTED = /\.(safetensors|gguf|bin)$/;

export async function startHub(repos: HubRepo[], revision = 'main'): Promise<HubServer> {
  const files = new Map<string, Map<string, Buffer>>();
  for (const r of repos) files.set(r.id, new Map(readdirSync(r.dir).map((f) => [f, readFileSync(join(r.dir, f))])));
  const etag = (b: Buffer) => `"${createHash('sha256').update(b).digest('hex').slice(0, 32)}"`;
  const log: HubServer['log'] = [];

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const conditional = !!req.headers['if-none-match'];
    const auth = !!req.headers.authorization;
    const end = (status: number, body?: Buffer, headers: Record<string, string> = {}) => {
      log.push({ method: req.method ?? '', path, status, conditional, auth });
      res.writeHead(status, { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'etag, content-length', ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method === 'OPTIONS')
      return end(204, undefined, { 'access-control-allow-headers': 'authorization, if-none-match, if-modified-since', 'access-control-allow-methods': 'GET, HEAD' });
    // The storage a resolve redirects to: /storage/{owner}/{name}/{file}
    const storage = /^\/storage\/([^/]+\/[^/]+)\/(.+)$/.exec(path);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const m = storage ? { repo: storage[1], rev: revision, file: storage[2] } : resolve ? { repo: resolve[1], rev: resolve[2], file: resolve[3] } : null;
    const repo = m && repos.find((r) => r.id === m.repo);
    if (!m || !repo) return end(404, Buffer.from('Repository not found'));
    if (resolve && repo.token && req.headers.authorization !== `Bearer ${repo.token}`)
      return end(401, Buffer.from(JSON.stringify({ error: 'Access to this model is restricted.' })), { 'content-type': 'application/json' });
    const bytes = m.rev === revision ? files.get(repo.id)!.get(m.file) : undefined;
    if (!bytes) return end(404, Buffer.from('Entry not found'), { 'content-type': 'text/plain' });
    const tag = etag(bytes);
    if (resolve && REDIRECTED.test(m.file)) return end(302, undefined, { location: `/storage/${repo.id}/${m.file}`, etag: tag });
    if (req.headers['if-none-match'] === tag) return end(304, undefined, { etag: tag });
    end(200, bytes, { 'content-length': String(bytes.length), etag: tag, 'content-type': m.file.endsWith('.json') ? 'application/json' : 'application/octet-stream' });
  };
  const server = createServer(handler);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    log,
    update: (repo, file, bytes) => void files.get(repo)!.set(file, Buffer.from(bytes)),
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

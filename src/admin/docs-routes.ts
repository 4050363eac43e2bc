import type { FastifyInstance } from 'fastify';

/** `GET /openapi.json` (made by @fastify/swagger from the route schemas) and `GET /docs`, without a token. */
export async function docsRoutes(app: FastifyInstance): Promise<void> {
  const page = docsPage();
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/docs', { schema: { hide: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').send(page));
}

/**
 * A self-contained API docs page: reads /openapi.json in the browser and lists every operation with
 * its parameters and schemas. No external assets (the admin listener may have no internet).
 */
function docsPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>turnout admin API</title>
<style>
body{font:14px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}.op{border:1px solid #ddd;border-radius:6px;margin:.6rem 0;padding:.5rem .8rem}
.m{display:inline-block;min-width:4.5rem;font-weight:600}.GET{color:#0a6}.POST{color:#06c}.PUT{color:#a60}.PATCH{color:#a0a}.DELETE{color:#c22}
pre{background:#f6f6f6;padding:.5rem;overflow:auto;font-size:12px}summary{cursor:pointer}
</style></head><body>
<h1>turnout admin API</h1>
<p>Every <code>/v1</code> call needs <code>Authorization: Bearer &lt;token&gt;</code>. Writes answer with the new
<code>revision</code> and <code>ETag</code>; send <code>If-Match</code> to refuse a stale write (412); every write takes
<code>?dryRun=true</code>. Machine-readable: <a href="/openapi.json">/openapi.json</a>.</p>
<div id="ops">loading…</div>
<script>
fetch('/openapi.json').then(r=>r.json()).then(doc=>{
  const ops=document.getElementById('ops');ops.textContent='';
  for(const [path,item] of Object.entries(doc.paths||{})){
    for(const [method,op] of Object.entries(item)){
      const d=document.createElement('details');d.className='op';
      const s=document.createElement('summary');
      const m=document.createElement('span');m.className='m '+method.toUpperCase();m.textContent=method.toUpperCase();
      s.append(m,document.createTextNode(' '+path+' — '+(op.summary||'')));
      const pre=document.createElement('pre');
      pre.textContent=JSON.stringify({parameters:op.parameters,requestBody:op.requestBody,responses:op.responses},null,2);
      d.append(s,pre);ops.append(d);
    }
  }
});
</script></body></html>`;
}

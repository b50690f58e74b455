// `npm run lint` holds the layering (.dependency-cruiser.cjs): the project passes it, and the
// same check fails on an import cycle and on the Slack layer importing the web layer.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const DEPCRUISE = path.join(ROOT, 'node_modules', '.bin', 'depcruise');
const run = promisify(execFile);

async function depcruise(cwd: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(DEPCRUISE, ['src', '--config', path.join(ROOT, '.dependency-cruiser.cjs')], {
      cwd,
    });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

describe('the layering check', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** A tiny project laid out like this one, with `files` under src/. */
  function project(files: Record<string, string>): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'chatbees-layers-'));
    dirs.push(dir);
    copyFileSync(path.join(ROOT, 'tsconfig.json'), path.join(dir, 'tsconfig.json'));
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, 'src', name)), { recursive: true });
      writeFileSync(path.join(dir, 'src', name), text);
    }
    return dir;
  }

  it('passes on the project', async () => {
    const { code, output } = await depcruise(ROOT);
    expect(output).toContain('no dependency violations found');
    expect(code).toBe(0);
  });

  it('fails on an import cycle', async () => {
    const dir = project({
      'services/a.ts': "import { b } from './b.js';\nexport const a = () => b();\n",
      'services/b.ts': "import { a } from './a.js';\nexport const b = (): number => (a ? 1 : 0);\n",
    });
    const { code, output } = await depcruise(dir);
    expect(code).not.toBe(0);
    expect(output).toContain('no-circular');
  });

  it('fails when the Slack and web layers import each other, or the domain a transport', async () => {
    const dir = project({
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a file under test
      'web/pages.ts': "import { id } from '../slack/ids.js';\nexport const page = `<p>${id}`;\n",
      'slack/ids.ts': "export const id = 'x';\n",
      'slack/oauth.ts': "import { page } from '../web/pages.js';\nexport const html = page;\n",
      'services/rules.ts': "import { html } from '../slack/oauth.js';\nexport const rule = html;\n",
      'services/http.ts': "import { createServer } from 'node:http';\nexport const server = createServer;\n",
      'services/typed.ts': "import type { WebClient } from '@slack/web-api';\nexport type Client = WebClient;\n",
      'bridge.ts':
        "import { page } from './web/pages.js';\nimport { id } from './slack/ids.js';\nexport const both = page + id;\n",
    });
    const { code, output } = await depcruise(dir);
    expect(code).not.toBe(0);
    expect(output).toContain('slack-not-web');
    expect(output).toContain('web-not-slack');
    expect(output).toMatch(/domain-free-of-transports: src\/services\/rules\.ts/);
    expect(output).toMatch(/domain-free-of-transports: src\/services\/http\.ts/);
    expect(output).toMatch(/domain-free-of-transports: src\/services\/typed\.ts/);
    expect(output).toContain('only-the-composition-joins-layers: src/bridge.ts');
  });
});

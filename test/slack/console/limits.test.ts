// The Slack limit checker the console's tests hold every view to (test/support/console-views.ts):
// it passes a view Slack takes and flags each limit Slack would refuse.
import type { ActionsBlock, AnyBlock, ModalView } from '@slack/types';
import { describe, expect, it } from 'vitest';
import { slackLimitProblems } from '../../support/console-views.js';

/** The fixture's actions block, narrowed to its type. */
function actionsBlock(block: AnyBlock | undefined): ActionsBlock {
  if (block?.type !== 'actions') throw new Error(`block is ${block?.type}, not actions`);
  return block as ActionsBlock;
}

describe('the Slack limit checker', () => {
  const ok: ModalView = {
    type: 'modal',
    callback_id: 'admin_console',
    title: { type: 'plain_text', text: 'ChatBees users' },
    close: { type: 'plain_text', text: 'Close' },
    private_metadata: '{}',
    blocks: [
      { type: 'section', block_id: 'a', text: { type: 'mrkdwn', text: 'hello' } },
      {
        type: 'actions',
        block_id: 'b',
        elements: [{ type: 'button', action_id: 'x', text: { type: 'plain_text', text: 'Go' }, value: 'v' }],
      },
    ],
  };

  it('passes a view Slack takes', () => {
    expect(slackLimitProblems(ok)).toEqual([]);
  });

  it.each<[string, (view: ModalView) => void]>([
    ['101 blocks', (v) => v.blocks.push(...Array.from({ length: 99 }, () => ({ type: 'divider' })))],
    ['a 25-character title', (v) => Object.assign(v, { title: { type: 'plain_text', text: 'x'.repeat(25) } })],
    ['a 25-character close', (v) => Object.assign(v, { close: { type: 'plain_text', text: 'x'.repeat(25) } })],
    ['a 25-character submit', (v) => Object.assign(v, { submit: { type: 'plain_text', text: 'x'.repeat(25) } })],
    ['duplicate block ids', (v) => v.blocks.push({ type: 'divider', block_id: 'a' })],
    ['3001 characters of private_metadata', (v) => Object.assign(v, { private_metadata: 'x'.repeat(3001) })],
    [
      'a 76-character button',
      (v) =>
        Object.assign(actionsBlock(v.blocks[1]).elements[0] ?? {}, {
          text: { type: 'plain_text', text: 'x'.repeat(76) },
        }),
    ],
    [
      'a 3001-character section',
      (v) => Object.assign(v.blocks[0] ?? {}, { text: { type: 'mrkdwn', text: 'x'.repeat(3001) } }),
    ],
    [
      '26 elements in an actions block',
      (v) =>
        v.blocks.push({
          type: 'actions',
          block_id: 'many',
          elements: Array.from({ length: 26 }, (_, i) => ({
            type: 'button',
            action_id: `b${i}`,
            text: { type: 'plain_text', text: 'x' },
          })),
        }),
    ],
  ])('flags %s', (_what, breakIt) => {
    const view = structuredClone(ok);
    breakIt(view);
    expect(slackLimitProblems(view)).not.toEqual([]);
  });
});

/**
 * What a webhook delivery asks Palisade to do, as a pure function of the event name and payload: check a pull
 * request (opened, pushed to, reopened, relabelled, retargeted, or its check re-requested), publish a push to the
 * main branch, or nothing (with the reason). Payloads are untrusted: every field used is type-checked here.
 */

/** The work a delivery maps to. */
export type WebhookWork =
  | {
      readonly kind: 'pull-request';
      readonly owner: string;
      readonly repo: string;
      readonly number: number;
      readonly baseSha: string;
      readonly headSha: string;
      readonly labels: readonly string[];
    }
  | { readonly kind: 'push'; readonly owner: string; readonly repo: string; readonly commit: string; readonly branch: string }
  | { readonly kind: 'ignored'; readonly reason: string };

/** Event names the receiver accepts; any other is answered and ignored. */
export const WEBHOOK_EVENTS = ['pull_request', 'push', 'check_suite', 'check_run', 'ping'] as const;

const PR_ACTIONS = new Set(['opened', 'synchronize', 'reopened', 'labeled', 'unlabeled', 'edited', 'ready_for_review']);

/**
 * Maps one delivery to work.
 * @param mainBranch the branch whose pushes are published; default the repository's default branch in the payload.
 */
export function webhookWork(event: string, payload: unknown, mainBranch?: string): WebhookWork {
  const p = obj(payload);
  const repository = obj(p?.repository);
  const owner = str(obj(repository?.owner)?.login);
  const repo = str(repository?.name);
  if (!p || !owner || !repo) return ignored(`${event}: no repository in the payload`);
  const action = str(p.action);
  switch (event) {
    case 'ping':
      return ignored('ping');
    case 'pull_request': {
      if (!action || !PR_ACTIONS.has(action)) return ignored(`pull_request ${action ?? '(no action)'}: nothing to check`);
      return pullRequestWork(owner, repo, obj(p.pull_request));
    }
    case 'check_suite':
    case 'check_run': {
      if (action !== 'rerequested') return ignored(`${event} ${action ?? '(no action)'}: only rerequested runs a check`);
      const holder = obj(p[event]);
      const prs = Array.isArray(holder?.pull_requests) ? holder.pull_requests : [];
      const pr = obj(prs[0]);
      if (!pr) return ignored(`${event} rerequested: not for a pull request`);
      return pullRequestWork(owner, repo, pr, str(holder?.head_sha));
    }
    case 'push': {
      const ref = str(p.ref);
      const after = str(p.after);
      const branch = mainBranch ?? str(repository?.default_branch) ?? str(repository?.master_branch);
      if (!ref || !after || !branch) return ignored('push: no ref, commit or main branch in the payload');
      if (ref !== `refs/heads/${branch}`) return ignored(`push to ${ref}: only refs/heads/${branch} is published`);
      if (p.deleted === true || /^0+$/.test(after)) return ignored(`push deleted ${ref}`);
      if (!isSha(after)) return ignored('push: the commit is not a commit id');
      return { kind: 'push', owner, repo, commit: after, branch };
    }
    default:
      return ignored(`event ${event} is not handled`);
  }
}

function pullRequestWork(owner: string, repo: string, pr: Record<string, unknown> | undefined, headOverride?: string): WebhookWork {
  const number = pr?.number;
  const baseSha = str(obj(pr?.base)?.sha);
  const headSha = headOverride ?? str(obj(pr?.head)?.sha);
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number <= 0 || !isSha(baseSha) || !isSha(headSha)) {
    return ignored('pull request without a number, base and head commit');
  }
  const labels = (Array.isArray(pr?.labels) ? pr.labels : []).map((l) => str(obj(l)?.name)).filter((n): n is string => n !== undefined).slice(0, 100);
  return { kind: 'pull-request', owner, repo, number, baseSha: baseSha!, headSha: headSha!, labels };
}

function ignored(reason: string): WebhookWork {
  return { kind: 'ignored', reason };
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= 1024 ? v : undefined;
}

function isSha(v: string | undefined): v is string {
  return v !== undefined && /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(v);
}

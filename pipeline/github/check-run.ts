/**
 * A handler result as a GitHub check run on the head commit: title, summary (cut to 65,535 bytes of UTF-8 with a
 * "more not shown" note), conclusion, and annotations on their file and line in batches of 50 (GitHub's limit per
 * request; later updates append). Re-running on the same commit with the same result changes nothing.
 */
import type { CheckAnnotation, PullRequestResult } from '../handlers/index.js';
import type { GithubClient } from './client.js';
import { CHECK_OUTPUT_LIMIT, prefixWithinBytes, truncateUtf8 } from './utf8-limit.js';

/** GitHub's limit of annotations per create or update request. */
export const ANNOTATIONS_PER_REQUEST = 50;
/** Annotation messages and raw details are limited to 64 KB each; titles to 255 characters. */
const ANNOTATION_MESSAGE_BYTES = 64 * 1024 - 1;
const ANNOTATION_TITLE_CHARS = 255;
/** The check's title line. */
const TITLE_BYTES = 1024;

/** Where and how the check run is published. */
export interface CheckRunTarget {
  readonly owner: string;
  readonly repo: string;
  readonly headSha: string;
  /** The check's name (default `Palisade`). */
  readonly name?: string;
  readonly detailsUrl?: string;
  /** Most annotations sent in all (default 1,000); the summary says how many were left out. */
  readonly maxAnnotations?: number;
}

/** What {@link publishCheckRun} did. */
export interface CheckRunOutcome {
  readonly kind: 'created' | 'unchanged';
  readonly checkRunId: number;
  /** Requests made (list + create + updates). */
  readonly requests: number;
  readonly annotationsSent: number;
}

/**
 * Creates the check run (or finds it unchanged).
 * @throws GithubError (`github-permission` names `checks: write`).
 */
export async function publishCheckRun(client: GithubClient, target: CheckRunTarget, result: Pick<PullRequestResult, 'conclusion' | 'title' | 'summary' | 'annotations'>): Promise<CheckRunOutcome> {
  const name = target.name ?? 'Palisade';
  const max = target.maxAnnotations ?? 1_000;
  const annotations = result.annotations.slice(0, max).map(toApiAnnotation);
  const dropped = result.annotations.length - annotations.length;
  const title = prefixWithinBytes(result.title, TITLE_BYTES);
  const note = dropped > 0 ? `\n\n${dropped} more annotation${dropped === 1 ? '' : 's'} not shown.\n` : '';
  const summary = truncateUtf8(result.summary + note, CHECK_OUTPUT_LIMIT, (n) => `\n\n… ${n} more line${n === 1 ? '' : 's'} not shown.\n`);

  // The same result already published on this commit: nothing to do (a redelivered event, a restarted handler).
  const existing = await client.rest.checks.listForRef({ owner: target.owner, repo: target.repo, ref: target.headSha, check_name: name, filter: 'latest', per_page: 1 });
  const latest = existing.data.check_runs[0];
  if (latest && latest.status === 'completed' && latest.conclusion === result.conclusion && latest.output.title === title && latest.output.summary === summary && latest.output.annotations_count === annotations.length) {
    return { kind: 'unchanged', checkRunId: latest.id, requests: 1, annotationsSent: 0 };
  }

  const batches: (typeof annotations)[] = [];
  for (let i = 0; i < annotations.length; i += ANNOTATIONS_PER_REQUEST) batches.push(annotations.slice(i, i + ANNOTATIONS_PER_REQUEST));
  const output = (batch: typeof annotations | undefined) => ({ title, summary, ...(batch && batch.length > 0 ? { annotations: batch } : {}) });
  const last = batches.length <= 1;
  const created = await client.rest.checks.create({
    owner: target.owner,
    repo: target.repo,
    name,
    head_sha: target.headSha,
    ...(target.detailsUrl ? { details_url: target.detailsUrl } : {}),
    ...(last ? { status: 'completed' as const, conclusion: result.conclusion } : { status: 'in_progress' as const }),
    output: output(batches[0]),
  });
  let requests = 2;
  for (let i = 1; i < batches.length; i++) {
    const final = i === batches.length - 1;
    await client.rest.checks.update({
      owner: target.owner,
      repo: target.repo,
      check_run_id: created.data.id,
      ...(final ? { status: 'completed' as const, conclusion: result.conclusion } : {}),
      output: output(batches[i]),
    });
    requests++;
  }
  return { kind: 'created', checkRunId: created.data.id, requests, annotationsSent: annotations.length };
}

function toApiAnnotation(a: CheckAnnotation) {
  return {
    path: a.path,
    start_line: a.line,
    end_line: a.line,
    annotation_level: a.level,
    title: a.title.slice(0, ANNOTATION_TITLE_CHARS),
    message: prefixWithinBytes(a.message, ANNOTATION_MESSAGE_BYTES),
  };
}

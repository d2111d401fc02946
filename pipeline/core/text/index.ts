/**
 * Text handling shared by the pipeline and the node agent: escaping untrusted text for one-line messages.
 */
export { escapeUntrusted } from './escape-untrusted.js';

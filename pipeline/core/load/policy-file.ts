/** The unit of input of the pure core: a file's display path and its decoded text. */

/** One input file. `path` is printed as given in every diagnostic; `text` is its UTF-8 decoded content. */
export interface PolicyFile {
  readonly path: string;
  readonly text: string;
}

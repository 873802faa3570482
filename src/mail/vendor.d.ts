// html-to-text ships no types (mailparser, which depends on it, uses it untyped); only what parse.ts calls.
declare module 'html-to-text' {
  export function htmlToText(
    html: string,
    options?: { wordwrap?: number | false; limits?: { maxDepth?: number; maxInputLength?: number }; selectors?: Array<{ selector: string; format?: string; options?: Record<string, unknown> }> },
  ): string;
}

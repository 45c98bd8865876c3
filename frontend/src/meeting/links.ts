// Web links in chat text, so that a shared link can be opened with a click.

export type ChatPiece = { text: string } | { url: string };

// Only http and https: a link in a chat must not run script or open files.
const linkPattern = /\bhttps?:\/\/[^\s<>"]+/gi;

// Punctuation that ends a sentence more often than a link.
const trailing = /[.,;:!?'"\]]+$/;

// splitLinks cuts text into plain pieces and links.
export function splitLinks(text: string): ChatPiece[] {
  const pieces: ChatPiece[] = [];
  let at = 0;
  for (const m of text.matchAll(linkPattern)) {
    let url = m[0].replace(trailing, "");
    // A closing parenthesis belongs to the link only if it opened one
    // (a Wikipedia link), not when the link was written in parentheses.
    while (url.endsWith(")") && count(url, "(") < count(url, ")")) url = url.slice(0, -1).replace(trailing, "");
    const start = m.index;
    if (start > at) pieces.push({ text: text.slice(at, start) });
    pieces.push({ url });
    at = start + url.length;
  }
  if (at < text.length) pieces.push({ text: text.slice(at) });
  return pieces;
}

function count(s: string, ch: string): number {
  return s.split(ch).length - 1;
}

// Invite links look like https://HOST:PORT/r/ROOM#fp=sha256:HEX&t=TOKEN
// (PROTOCOL.md §6). The fragment never reaches the server in an HTTP
// request: the joining app pins the host's self-signed certificate with fp,
// and sends the invite token t in hello, where it stands in for the
// password and the lobby.

export interface Invite {
  origin: string;
  room: string;
  fingerprint: string;
  token: string;
}

export interface Fragment {
  fingerprint: string;
  token: string;
}

// Invite tokens are opaque: base64url and ".", at most 512 bytes.
const tokenRE = /^[A-Za-z0-9_.-]{1,512}$/;

// Reads fp= and t= from a link's fragment ("#fp=…&t=…", the "#" optional).
export function parseFragment(hash: string): Fragment {
  const q = new URLSearchParams(hash.replace(/^#/, ""));
  const fp = q.get("fp") ?? "";
  if (fp !== "" && !/^sha256:[0-9a-fA-F]{64}$/.test(fp)) {
    throw new Error("The link's certificate fingerprint is damaged; ask the host for a new link.");
  }
  const token = q.get("t") ?? "";
  if (token !== "" && !tokenRE.test(token)) {
    throw new Error("The link's invitation is damaged; ask the host for a new link.");
  }
  return { fingerprint: fp.toLowerCase(), token };
}

export function parseInvite(raw: string): Invite {
  const text = raw.trim();
  if (text === "") throw new Error("Paste the invite link the host shared.");
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error("That is not a link. An invite looks like https://host:port/r/room-name.");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new Error(`Invite links start with https://, not ${url.protocol}//.`);
  }
  const match = /^\/r\/([^/]+)\/?$/.exec(url.pathname);
  if (!match) throw new Error("The link has no room in it (expected …/r/room-name).");
  const room = decodeURIComponent(match[1]!);
  const frag = parseFragment(url.hash);
  // A pinned certificate means TLS: an http:// link with #fp= was retyped.
  const origin = frag.fingerprint !== "" ? url.origin.replace(/^http:/, "https:") : url.origin;
  return { origin, room, ...frag };
}

// Invite links look like https://HOST:PORT/r/ROOM#fp=sha256:HEX. The
// fragment never reaches the server; the joining app uses it to pin the
// host's self-signed certificate.

export interface Invite {
  origin: string;
  room: string;
  fingerprint: string;
}

export function parseInvite(raw: string): Invite {
  const text = raw.trim();
  if (text === "") throw new Error("Paste the invite link the host shared.");
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error("That is not a link. An invite looks like https://host:port/r/room-name");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new Error(`Invite links start with https://, not ${url.protocol}//`);
  }
  const match = /^\/r\/([^/]+)\/?$/.exec(url.pathname);
  if (!match) throw new Error("The link has no room in it (expected …/r/room-name).");
  const room = decodeURIComponent(match[1]!);
  const fp = new URLSearchParams(url.hash.replace(/^#/, "")).get("fp") ?? "";
  if (fp !== "" && !/^sha256:[0-9a-fA-F]{64}$/.test(fp)) {
    throw new Error("The link's certificate fingerprint is damaged; ask the host for a new link.");
  }
  return { origin: url.origin, room, fingerprint: fp.toLowerCase() };
}

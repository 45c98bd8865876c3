// Keyboard shortcuts of the meeting view. Single letters without modifiers,
// ignored while typing in a field.

export type Command = "mic" | "camera" | "share" | "chat" | "participants" | "stats";

export const shortcuts: Record<Command, string> = {
  mic: "M",
  camera: "V",
  share: "S",
  chat: "C",
  participants: "P",
  stats: "I",
};

export function commandForKey(ev: {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  target: { tagName?: string; isContentEditable?: boolean } | null;
}): Command | null {
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return null;
  const tag = ev.target?.tagName?.toUpperCase() ?? "";
  if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || ev.target?.isContentEditable) return null;
  const key = ev.key.toUpperCase();
  for (const [cmd, k] of Object.entries(shortcuts) as [Command, string][]) if (k === key) return cmd;
  return null;
}

import { h } from "../dom";
import { icon } from "./icons";

// A meeting found on the local network (app.LANRoom in Go).
export interface LANRoom {
  name: string;
  host: string;
  participants: number;
  password: boolean;
  locked: boolean;
  // Joiners wait until a host lets them in.
  lobby?: boolean;
  url: string;
}

// The desktop app's LAN binding: Rooms starts browsing, Stop ends it.
export interface LANSource {
  Rooms(): Promise<LANRoom[]>;
  Stop(): Promise<void>;
}

// describeRoom is the line under a room's name: host, head count, access.
export function describeRoom(r: LANRoom): string {
  const parts: string[] = [];
  if (r.host) parts.push(`hosted by ${r.host}`);
  parts.push(r.participants === 1 ? "1 person" : `${r.participants} people`);
  if (r.locked) parts.push("locked");
  else {
    if (r.password) parts.push("password");
    if (r.lobby) parts.push("waiting room");
  }
  return parts.join(" · ");
}

// mountNearby keeps list showing the rooms on the network, polling the
// binding while the list is in the document, and returns a stop function.
// Clicking a room calls onJoin with it.
export function mountNearby(
  list: HTMLUListElement,
  source: LANSource,
  onJoin: (room: LANRoom) => void,
  onError: (message: string) => void,
  intervalMs = 1000,
): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    source.Stop().catch(() => undefined);
  };
  const poll = async () => {
    if (stopped) return;
    if (!list.isConnected) {
      stop();
      return;
    }
    try {
      render(list, await source.Rooms(), onJoin);
    } catch (e) {
      onError(e instanceof Error ? e.message : String(e));
    }
    if (!stopped) timer = setTimeout(() => void poll(), intervalMs);
  };
  // The first poll waits a tick: the caller attaches the list after this.
  timer = setTimeout(() => void poll(), 0);
  return stop;
}

function render(list: HTMLUListElement, rooms: LANRoom[], onJoin: (room: LANRoom) => void): void {
  list.replaceChildren(
    ...rooms.map((r) =>
      h(
        "li",
        {},
        h(
          "button",
          {
            class: "room",
            "data-room": r.name,
            "aria-label": `Join ${r.name}, ${describeRoom(r)}`,
            disabled: r.locked,
            onclick: () => onJoin(r),
          },
          // An SVG, not the emoji: many Linux desktops have no emoji font.
          h("span", { class: "room-name" }, r.name, r.locked || r.password ? icon("lock") : null),
          h("span", { class: "room-info" }, describeRoom(r)),
        ),
      ),
    ),
  );
}

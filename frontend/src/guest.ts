// The browser guest's flow: lobby → (password) → meeting → an end screen,
// for the room named in the page's path (/r/ROOM).

import { BrowserEngine } from "./engine/browser";
import { EngineError, type Engine } from "./engine/types";
import { endedScreen, joinErrorScreen, leftScreen } from "./meeting/errors";
import { Store } from "./meeting/store";
import { isValidRoomName } from "./protocol";
import { nameKey, renderGuestLobby, type GuestLobby, type JoinChoice } from "./views/guestlobby";
import { MeetingView } from "./views/meeting";
import { renderPasswordPrompt, renderScreen } from "./views/screens";

// The room from /r/ROOM, or null.
export function roomFromPath(pathname: string): string | null {
  const m = /^\/r\/([^/]+)\/?$/.exec(pathname);
  if (!m) return null;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return null;
  }
}

export interface GuestParams {
  name: string | null;
  autoJoin: boolean;
  micOff: boolean;
  cameraOff: boolean;
}

export function guestParams(search: string): GuestParams {
  const q = new URLSearchParams(search);
  const flag = (k: string) => q.get(k) === "1" || q.get(k) === "true";
  return { name: q.get("name"), autoJoin: flag("join"), micOff: flag("mic-off"), cameraOff: flag("camera-off") };
}

export function startGuest(root: HTMLElement, room: string, params: GuestParams, storage: Storage): void {
  if (!isValidRoomName(room)) {
    renderScreen(
      root,
      {
        view: "bad-room",
        title: "This link is damaged",
        message: `“${room}” is not a room name. Ask the host for the invite link again.`,
        next: [],
      },
      {},
    );
    return;
  }
  const engine: Engine = new BrowserEngine();
  let store = new Store();
  let meeting: MeetingView | null = null;
  let lobby: GuestLobby | null = null;
  let password: string | undefined;
  let last: JoinChoice | null = null;

  const clear = () => {
    meeting?.destroy();
    meeting = null;
    lobby?.destroy();
    lobby = null;
    store.detach();
  };

  const showLobby = (autoJoin: boolean) => {
    clear();
    const initialName = params.name ?? storage.getItem(nameKey) ?? "";
    lobby = renderGuestLobby(root, {
      engine,
      room,
      storage,
      initialName: last?.name ?? initialName,
      initial: { micOff: last?.micOff ?? params.micOff, cameraOff: last?.cameraOff ?? params.cameraOff },
      onJoin: (c) => void join(c),
    });
    if (autoJoin) {
      const l = lobby;
      void l.ready.then(() => {
        const c = l.choice();
        if (c && lobby === l) void join(c);
      });
    }
  };

  const join = async (c: JoinChoice) => {
    last = c;
    if (lobby) lobby.setBusy(true);
    else renderScreen(root, { view: "joining", title: "Joining…", message: "", next: [] }, {});
    store.detach();
    store = new Store();
    store.attach(engine);
    try {
      await engine.join({ room, name: c.name, password, micOff: c.micOff, cameraOff: c.cameraOff });
    } catch (e) {
      store.detach();
      const err = e instanceof EngineError ? e : new EngineError("internal", String(e));
      onJoinError(err);
      return;
    }
    lobby?.destroy();
    lobby = null;
    meeting = new MeetingView(root, engine, store, {
      onLeave: () => showEnd(leftScreen()),
      onEnded: (reason) => showEnd(endedScreen(reason)),
      onFatal: (code, message) => showEnd(joinErrorScreen(code, message)),
    });
  };

  const onJoinError = (err: EngineError) => {
    if (err.code === "bad-password") {
      const wrong = password !== undefined;
      clear();
      renderPasswordPrompt(root, {
        room,
        wrong,
        onSubmit: (pw) => {
          password = pw;
          if (last) void join(last);
        },
        onCancel: () => {
          password = undefined;
          showLobby(false);
        },
      });
      return;
    }
    showEnd(joinErrorScreen(err.code, err.message));
  };

  const showEnd = (text: ReturnType<typeof leftScreen>) => {
    clear();
    renderScreen(root, text, {
      retry: () => (last ? void join(last) : showLobby(false)),
      rejoin: () => (last ? void join(last) : showLobby(false)),
      lobby: () => showLobby(false),
    });
  };

  window.addEventListener("pagehide", () => engine.leave());
  showLobby(params.autoJoin);
}

// The browser guest's flow: lobby → (password) → (waiting for the host) →
// meeting → an end screen, for the room named in the page's path (/r/ROOM)
// with the invite token from the link's fragment (#…&t=TOKEN).

import { BrowserEngine } from "./engine/browser";
import { EngineError, type Engine } from "./engine/types";
import { parseFragment } from "./invite";
import { Comeback } from "./meeting/comeback";
import { connectionLostScreen, endedScreen, joinErrorScreen, leftScreen, lobbyDeniedScreen } from "./meeting/errors";
import { Store } from "./meeting/store";
import { isValidRoomName } from "./protocol";
import { nameKey, renderGuestLobby, type GuestLobby, type JoinChoice } from "./views/guestlobby";
import { MeetingView } from "./views/meeting";
import { renderPasswordPrompt, renderScreen, renderWaiting } from "./views/screens";

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
  // The invite token (t= in the fragment), "" for none; null if the
  // fragment is damaged.
  token: string | null;
}

export function guestParams(search: string, hash = ""): GuestParams {
  const q = new URLSearchParams(search);
  const flag = (k: string) => q.get(k) === "1" || q.get(k) === "true";
  let token: string | null;
  try {
    token = parseFragment(hash).token;
  } catch {
    token = null;
  }
  return { name: q.get("name"), autoJoin: flag("join"), micOff: flag("mic-off"), cameraOff: flag("camera-off"), token };
}

export function startGuest(root: HTMLElement, room: string, params: GuestParams, storage: Storage): void {
  if (!isValidRoomName(room) || params.token === null) {
    const what = params.token === null ? "Its invitation is damaged." : `“${room}” is not a room name.`;
    renderScreen(
      root,
      { view: "bad-room", title: "This link is damaged", message: `${what} Ask the host for the invite link again.`, next: [] },
      {},
    );
    return;
  }
  const engine: Engine = new BrowserEngine();
  let store = new Store();
  let meeting: MeetingView | null = null;
  let lobby: GuestLobby | null = null;
  let password: string | undefined;
  // Dropped once the server refused it, so that joining from the lobby
  // again tries the password or the host's lobby instead.
  let token = params.token;
  let last: JoinChoice | null = null;
  // Set while this page waits in the room's lobby.
  let waiting = false;
  // Bumped by every join and cancel: a join whose attempt is stale ignores
  // its own outcome.
  let attempt = 0;
  const comeback = new Comeback(() =>
    fetch(window.location.pathname, { method: "HEAD", cache: "no-store" }).then(
      (r) => r.ok,
      () => false,
    ),
  );

  const clear = () => {
    comeback.stop();
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
    // The lobby's microphone and camera choice is for the join it starts;
    // joining again (Rejoin, by itself, after a password) keeps what the
    // user had turned off since, which the engine remembers.
    const fromLobby = c !== last;
    last = c;
    const mine = ++attempt;
    waiting = false;
    if (lobby) lobby.setBusy(true);
    else renderScreen(root, { view: "joining", title: "Joining…", message: "", next: [] }, {});
    store.detach();
    store = new Store();
    store.attach(engine);
    const offWaiting = engine.on((ev) => {
      if (ev.type !== "waiting" || mine !== attempt) return;
      waiting = true;
      // Not clear(): the store must keep listening for the welcome.
      lobby?.destroy();
      lobby = null;
      renderWaiting(root, {
        room,
        onCancel: () => {
          attempt++;
          engine.leave();
          showLobby(false);
        },
      });
    });
    try {
      await engine.join({ room, name: c.name, password, token: token || undefined, ...(fromLobby && { micOff: c.micOff, cameraOff: c.cameraOff }) });
    } catch (e) {
      if (mine !== attempt) return; // cancelled
      store.detach();
      const err = e instanceof EngineError ? e : new EngineError("internal", String(e));
      onJoinError(err);
      return;
    } finally {
      offWaiting();
    }
    if (mine !== attempt) return;
    waiting = false;
    lobby?.destroy();
    lobby = null;
    comeback.reset();
    meeting = new MeetingView(root, engine, store, {
      onLeave: () => showEnd(leftScreen()),
      onEnded: (reason, byYou) => showEnd(endedScreen(reason, byYou)),
      onFatal: (code, message) => showEnd(code === "connection-lost" ? connectionLostScreen() : joinErrorScreen(code, message)),
    });
  };

  const onJoinError = (err: EngineError) => {
    if (err.code === "bad-token" || err.code === "token-expired" || err.code === "token-used") token = "";
    if (err.code === "denied" && waiting) {
      waiting = false;
      showEnd(lobbyDeniedScreen());
      return;
    }
    if (err.endReason) {
      waiting = false;
      showEnd(endedScreen(err.endReason));
      return;
    }
    if (err.code === "bad-password" || (err.code === "rate-limited" && !token)) {
      const wrong = password !== undefined;
      clear();
      renderPasswordPrompt(root, {
        room,
        wrong,
        error: err,
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
    const again = last;
    renderScreen(root, again ? comeback.show(text, () => void join(again)) : text, {
      retry: comeback.chosen(() => (last ? void join(last) : showLobby(false))),
      rejoin: comeback.chosen(() => (last ? void join(last) : showLobby(false))),
      lobby: comeback.chosen(() => showLobby(false)),
    });
  };

  window.addEventListener("pagehide", () => engine.leave());
  showLobby(params.autoJoin);
}

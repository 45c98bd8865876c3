// The meeting view: the tile grid (or stage + strip for a screen share or a
// pinned tile), the control bar, the chat / participants / settings panel,
// toasts, the lobby's knocks (hosts) and the "reconnecting" banner. State
// comes from the Store; the view only calls the engine for user actions.

import { h } from "../dom";
import { EngineError, type Engine, type EngineErrorCode } from "../engine/types";
import type { EndReason, Knock } from "../protocol";
import { fullFrameRate, gridLayout, keepVisible, stageLayout, type Rect } from "../meeting/layout";
import { commandForKey, shortcuts, type Command } from "../meeting/shortcuts";
import { splitLinks } from "../meeting/links";
import { bandwidthChoices, bandwidthLabel } from "../meeting/bandwidth";
import { overlayLines, statsKey } from "../meeting/statsfmt";
import {
  deriveTiles,
  groupChat,
  initials,
  participantRows,
  leaveEndsMeeting,
  prepareChat,
  selfIsHost,
  sentence,
  type Action,
  type MeetingState,
  type Panel,
  type TileModel,
} from "../meeting/state";
import type { Store } from "../meeting/store";
import { icon } from "./icons";
import { Tile } from "./tile";

export interface MeetingCallbacks {
  onLeave(): void;
  // byYou: this page's host ended the meeting for everyone.
  onEnded(reason: EndReason, byYou: boolean): void;
  onFatal(code: EngineErrorCode, message: string): void;
}

const toastMs = 4000;

export class MeetingView {
  private el: HTMLElement;
  private stage: HTMLElement;
  private more: HTMLButtonElement;
  private panel: HTMLElement;
  private toasts: HTMLElement;
  private knocks: HTMLElement;
  private knocksSig = "";
  private reconnect: HTMLElement;
  private banner: HTMLElement;
  private buttons: Record<Command | "leave" | "settings", HTMLButtonElement>;
  private chatBadge: HTMLElement;
  private peopleCount: HTMLElement;
  private tiles = new Map<string, Tile>();
  private size = { w: 0, h: 0 };
  private frame = 0;
  private refreshTimer = 0;
  private retryTimer = 0;
  private toastTimers = new Map<number, number>();
  private renderedPanel: Panel | "none" = "none";
  private endedByYou = false;
  private renderedChatLen = -1;
  private chatList: HTMLElement | null = null;
  private chatJump: HTMLElement | null = null;
  private peopleList: HTMLElement | null = null;
  private hostBox: HTMLElement | null = null;
  private waitingBox: HTMLElement | null = null;
  private peopleSig = "";
  private endArmed = 0;
  private leaveArmed = 0;
  private unsubscribe: () => void;
  private resize: ResizeObserver;
  private retryAt = 0;
  private statsTimer = 0;
  private picker: HTMLElement | null = null;
  private stageWrap: HTMLElement;
  private aloneCard: HTMLElement | null = null;

  constructor(
    root: HTMLElement,
    private readonly engine: Engine,
    private readonly store: Store,
    private readonly cb: MeetingCallbacks,
  ) {
    this.stage = h("div", { class: "stage", "aria-label": "Participants' video" });
    this.stageWrap = h("div", { class: "stage-wrap" }, this.stage);
    this.more = h("button", {
      class: "tile-more",
      type: "button",
      "data-more": true,
      hidden: true,
      onclick: () => this.store.dispatch({ type: "ui/panel", panel: "participants" }),
    });
    this.stage.append(this.more);
    this.panel = h("aside", { class: "panel", hidden: true });
    this.toasts = h("div", { class: "toasts", role: "status", "aria-live": "polite" });
    this.knocks = h("div", { class: "knocks", role: "region", "aria-label": "Waiting to join", hidden: true });
    this.reconnect = h("div", { class: "reconnect-banner", "data-view": "reconnecting", role: "status", hidden: true });
    this.banner = h("div", { class: "banner", hidden: true });
    this.chatBadge = h("span", { class: "badge", hidden: true });
    this.peopleCount = h("span", { class: "count" });

    const btn = (cmd: Command | "leave" | "settings", iconName: string, label: string, extra?: Node) => {
      const b = h(
        "button",
        { type: "button", class: `ctl ctl-${cmd}`, "data-control": cmd, onclick: () => this.command(cmd) },
        icon(iconName),
        h("span", { class: "ctl-text" }, label),
      );
      if (extra) b.append(extra);
      if (cmd in shortcuts) b.setAttribute("aria-keyshortcuts", shortcuts[cmd as Command]);
      return b;
    };
    this.buttons = {
      mic: btn("mic", "mic", "Mic"),
      camera: btn("camera", "cam", "Camera"),
      share: btn("share", "screen", "Share"),
      chat: btn("chat", "chat", "Chat", this.chatBadge),
      participants: btn("participants", "people", "People", this.peopleCount),
      stats: btn("stats", "stats", "Stats"),
      settings: btn("settings", "settings", "Devices"),
      leave: btn("leave", "leave", "Leave"),
    };
    this.buttons.leave.classList.add("danger");
    this.buttons.leave.setAttribute("aria-label", "Leave meeting");
    this.buttons.leave.title = "Leave meeting";
    this.buttons.settings.setAttribute("aria-label", "Devices");
    this.buttons.settings.title = "Devices";
    this.banner.dataset.sharing = "";
    if (!engine.capabilities.screenShare) this.buttons.share.hidden = true;

    const controls = h(
      "footer",
      { class: "controls", role: "toolbar", "aria-label": "Meeting controls" },
      h("div", { class: "room-name" }),
      h(
        "div",
        { class: "ctl-group" },
        this.buttons.mic,
        this.buttons.camera,
        this.buttons.share,
        this.buttons.chat,
        this.buttons.participants,
        this.buttons.stats,
        this.buttons.settings,
      ),
      h("div", { class: "ctl-end" }, this.buttons.leave),
    );
    this.el = h(
      "section",
      { class: "meeting", "data-view": "meeting" },
      // The sharing banner sits outside .main, which holds a narrow
      // window's panel as an overlay: its Stop button is never covered.
      h("div", { class: "main" }, this.stageWrap, this.panel),
      this.banner,
      controls,
      this.reconnect,
      this.toasts,
      this.knocks,
    );
    document.body.classList.add("in-meeting");
    root.replaceChildren(this.el);

    this.resize = new ResizeObserver(() => {
      const r = this.stage.getBoundingClientRect();
      this.size = { w: Math.floor(r.width), h: Math.floor(r.height) };
      this.schedule();
    });
    this.resize.observe(this.stage);
    this.unsubscribe = store.subscribe((s, a) => this.onAction(s, a));
    document.addEventListener("keydown", this.onKey);
    this.refreshTimer = window.setInterval(() => {
      const now = performance.now();
      for (const t of this.tiles.values()) t.refresh(now);
    }, 200);
    this.render();
  }

  destroy(): void {
    this.unsubscribe();
    this.resize.disconnect();
    document.removeEventListener("keydown", this.onKey);
    window.clearInterval(this.refreshTimer);
    window.clearInterval(this.retryTimer);
    window.clearInterval(this.statsTimer);
    window.clearTimeout(this.endArmed);
    window.clearTimeout(this.leaveArmed);
    this.closePicker();
    cancelAnimationFrame(this.frame);
    for (const t of this.toastTimers.values()) window.clearTimeout(t);
    for (const t of this.tiles.values()) t.destroy();
    this.tiles.clear();
    document.body.classList.remove("in-meeting");
    this.el.remove();
  }

  private onKey = (ev: KeyboardEvent): void => {
    if (ev.repeat) return;
    // Escape closes the open panel wherever the focus is (its own button,
    // after a click); the screen picker, a dialog, handles its own.
    if (ev.key === "Escape" && !this.picker && this.store.state.panel !== null) {
      ev.preventDefault();
      this.store.dispatch({ type: "ui/panel", panel: null });
      return;
    }
    const cmd = commandForKey({
      key: ev.key,
      ctrlKey: ev.ctrlKey,
      metaKey: ev.metaKey,
      altKey: ev.altKey,
      target: ev.target as HTMLElement | null,
    });
    if (!cmd) return;
    ev.preventDefault();
    this.command(cmd);
  };

  private onAction(s: MeetingState, a: Action): void {
    switch (a.type) {
      case "ended":
        this.cb.onEnded(a.reason, this.endedByYou);
        return;
      case "error":
        if (a.fatal) {
          this.cb.onFatal(a.code, a.message);
          return;
        }
        break;
      case "connection":
        if (a.retryInMs !== undefined) this.retryAt = Date.now() + a.retryInMs;
        break;
    }
    void s;
    this.schedule();
  }

  private toast(text: string): void {
    this.store.dispatch({ type: "ui/toast", text: sentence(text) });
  }

  private async command(cmd: Command | "leave" | "settings"): Promise<void> {
    const e = this.engine;
    try {
      switch (cmd) {
        case "mic":
          await e.setMuted("audio", !e.isMuted("audio"));
          break;
        case "camera":
          await e.setMuted("video", !e.isMuted("video"));
          break;
        case "share":
          if (e.isSharingScreen()) await e.stopScreenShare();
          else await this.share();
          break;
        case "stats":
          this.toggleStats();
          break;
        case "chat":
          this.store.dispatch({ type: "ui/toggle-panel", panel: "chat" });
          break;
        case "participants":
          this.store.dispatch({ type: "ui/toggle-panel", panel: "participants" });
          break;
        case "settings":
          this.store.dispatch({ type: "ui/toggle-panel", panel: "settings" });
          break;
        case "leave":
          if (leaveEndsMeeting(this.store.state, !!e.hostInvite)) {
            // The second click ends the meeting for everyone, as "End
            // meeting for everyone" does: they are told the host ended
            // it, not that the host's Parley stopped.
            if (!this.leaveArmed) {
              this.leaveArmed = window.setTimeout(() => {
                this.leaveArmed = 0;
                this.schedule();
              }, 4000);
              this.toast("This app hosts the meeting: leaving ends it for everyone. Click Leave again to end it.");
              break;
            }
            window.clearTimeout(this.leaveArmed);
            this.leaveArmed = 0;
            this.endedByYou = true;
            await e.endMeeting().catch((err: unknown) => {
              this.endedByYou = false;
              throw err;
            });
            break;
          }
          e.leave();
          this.cb.onLeave();
          return;
      }
    } catch (err) {
      this.toast(err instanceof EngineError || err instanceof Error ? err.message : String(err));
    }
    this.schedule();
  }

  // ---- screen picker ---------------------------------------------------------

  // Shares a screen: where the app picks (the desktop app), the only
  // screen at once, else the one chosen in a small picker; browsers show
  // their own picker.
  private async share(): Promise<void> {
    const e = this.engine;
    if (!e.listScreens) return e.startScreenShare();
    const screens = await e.listScreens();
    if (screens.length <= 1) return e.startScreenShare(screens[0]?.id);
    this.closePicker();
    const choose = (id: string) => {
      this.closePicker();
      e.startScreenShare(id).then(
        () => this.schedule(),
        (err: unknown) => this.toast(err instanceof Error ? err.message : String(err)),
      );
    };
    const picker = h(
      "div",
      { class: "screen-picker", role: "dialog", "aria-label": "Choose a screen to share", "data-screen-picker": true },
      h("h2", {}, "Share which screen?"),
      ...screens.map((sc) =>
        h("button", { type: "button", class: "screen-option", "data-screen-id": sc.id, onclick: () => choose(sc.id) }, icon("screen"), h("span", {}, sc.label)),
      ),
      h("button", { type: "button", class: "secondary", onclick: () => this.closePicker() }, "Cancel"),
    );
    picker.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") this.closePicker();
    });
    this.picker = picker;
    this.el.append(picker);
    picker.querySelector<HTMLButtonElement>(".screen-option")?.focus();
  }

  private closePicker(): void {
    this.picker?.remove();
    this.picker = null;
  }

  // ---- stats overlay ----------------------------------------------------------

  // Turns the stats overlay on or off.
  setStatsOverlay(on: boolean): void {
    if (on !== (this.statsTimer !== 0)) this.toggleStats();
  }

  private toggleStats(): void {
    if (this.statsTimer) {
      window.clearInterval(this.statsTimer);
      this.statsTimer = 0;
      for (const t of this.tiles.values()) t.setStats(null);
    } else {
      this.statsTimer = window.setInterval(() => void this.pollStats(), 1000);
      void this.pollStats();
    }
    this.el.toggleAttribute("data-stats-on", this.statsTimer !== 0);
    // The button says its new state at once, not at the next frame: a
    // screen reader (or a test) reading it right after the press must
    // not hear the old one.
    this.renderControls(this.store.state);
    this.schedule();
  }

  private async pollStats(): Promise<void> {
    const list = await this.engine.getStats().catch(() => []);
    if (!this.statsTimer) return;
    const byKey = new Map(list.map((st) => [statsKey(st.participantId, st.trackId), st]));
    // The connection as it is now, when the figures are shown, not as it
    // was when they were asked for.
    const connection = this.store.state.connection;
    for (const [, t] of this.tiles) {
      const m = t.modelNow;
      const st = m.trackId ? byKey.get(statsKey(m.participantId, m.trackId)) : undefined;
      t.setStats(overlayLines(st, m, connection));
    }
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  private render(): void {
    const s = this.store.state;
    this.renderTiles(s);
    this.renderControls(s);
    this.renderPanel(s);
    this.renderToasts(s);
    this.renderKnocks(s);
    this.renderReconnect(s);
    this.renderAlone(s);
  }

  // ---- tiles -----------------------------------------------------------------

  private renderTiles(s: MeetingState): void {
    // Your own screen share is not shown back to you (a mirror of a mirror);
    // a banner says you are sharing instead.
    const models = deriveTiles(s).filter((t) => !(t.screen && t.self));
    const seen = new Set<string>();
    for (const m of models) {
      seen.add(m.id);
      const t = this.tiles.get(m.id);
      if (t) t.update(m);
      else {
        const tile = new Tile(m, (id) => this.store.dispatch({ type: "ui/pin", tileId: this.store.state.pinned === id ? null : id }));
        this.tiles.set(m.id, tile);
        this.stage.append(tile.el);
      }
    }
    for (const [id, t] of this.tiles) {
      if (!seen.has(id)) {
        t.destroy();
        this.tiles.delete(id);
      }
    }

    const { w, h: ht } = this.size;
    const main = models.find((m) => m.pinned) ?? [...models].reverse().find((m) => m.screen) ?? null;
    const place = (m: TileModel, r: Rect | null) => this.tiles.get(m.id)?.setRect(r);
    let moreRect: Rect | null = null;
    let overflow = 0;
    const layout = main ? "stage" : "grid";
    for (const m of models) {
      this.tiles.get(m.id)?.setHalfRate(!fullFrameRate(m, { layout, main: m === main, count: models.length }));
    }
    if (main) {
      const others = models.filter((m) => m !== main);
      const L = stageLayout(others.length, w, ht);
      place(main, L.main);
      const ordered = keepVisible(others, L.visible, (m) => m.active);
      ordered.forEach((m, i) => place(m, i < L.visible ? L.strip[i]! : null));
      if (L.overflow > 0) moreRect = L.strip[L.visible]!;
      overflow = L.overflow;
      this.stage.dataset.layout = "stage";
    } else {
      const L = gridLayout(models.length, w, ht);
      const ordered = keepVisible(models, L.visible, (m) => m.active);
      ordered.forEach((m, i) => place(m, i < L.visible ? L.rects[i]! : null));
      if (L.overflow > 0) moreRect = L.rects[L.visible]!;
      overflow = L.overflow;
      this.stage.dataset.layout = "grid";
    }
    this.stage.dataset.count = String(models.length);
    if (moreRect) {
      this.more.hidden = false;
      this.more.textContent = `+${overflow}`;
      this.more.setAttribute("aria-label", `${overflow} more participants`);
      const st = this.more.style;
      st.transform = `translate(${moreRect.x}px, ${moreRect.y}px)`;
      st.width = `${moreRect.w}px`;
      st.height = `${moreRect.h}px`;
    } else {
      this.more.hidden = true;
    }

    const sharing = this.engine.isSharingScreen();
    this.banner.hidden = !sharing;
    if (sharing && !this.banner.hasChildNodes()) {
      this.banner.append(
        h("span", { class: "rec-dot", "aria-hidden": "true" }),
        icon("screen"),
        h("span", {}, "You are sharing your screen"),
        h("button", { type: "button", onclick: () => void this.command("share") }, "Stop sharing"),
      );
    }
  }

  // ---- controls --------------------------------------------------------------

  private renderControls(s: MeetingState): void {
    const e = this.engine;
    const micOff = e.isMuted("audio");
    const camOff = e.isMuted("video");
    const sharing = e.isSharingScreen();
    setToggle(this.buttons.mic, micOff, micOff ? "mic-off" : "mic", micOff ? "Unmute microphone" : "Mute microphone", "M");
    setToggle(this.buttons.camera, camOff, camOff ? "cam-off" : "cam", camOff ? "Turn camera on" : "Turn camera off", "V");
    setToggle(this.buttons.share, sharing, sharing ? "screen-off" : "screen", sharing ? "Stop sharing screen" : "Share screen", "S");
    const statsOn = this.statsTimer !== 0;
    setToggle(this.buttons.stats, statsOn, "stats", statsOn ? "Hide statistics" : "Show statistics", shortcuts.stats);
    this.buttons.stats.setAttribute("aria-pressed", String(statsOn));
    this.buttons.share.classList.toggle("on", sharing);
    this.buttons.mic.classList.toggle("off", micOff);
    this.buttons.camera.classList.toggle("off", camOff);

    const chatOpen = s.panel === "chat";
    this.buttons.chat.setAttribute("aria-expanded", String(chatOpen));
    this.buttons.chat.setAttribute("aria-label", s.unread > 0 ? `Chat, ${s.unread} unread (C)` : "Chat (C)");
    this.buttons.chat.title = "Chat (C)";
    this.chatBadge.hidden = s.unread === 0;
    this.chatBadge.textContent = s.unread > 99 ? "99+" : String(s.unread);
    this.chatBadge.dataset.unread = String(s.unread);

    const n = Object.keys(s.participants).length;
    this.buttons.participants.setAttribute("aria-expanded", String(s.panel === "participants"));
    const waiting = selfIsHost(s) ? s.knocks.length : 0;
    this.buttons.participants.setAttribute("aria-label", `Participants, ${n}${waiting ? `, ${waiting} waiting` : ""} (P)`);
    this.buttons.participants.title = "Participants (P)";
    this.peopleCount.textContent = String(n);
    this.buttons.settings.setAttribute("aria-expanded", String(s.panel === "settings"));
    const leaveText = this.leaveArmed ? "Click again to end the meeting for everyone" : "Leave meeting";
    this.buttons.leave.setAttribute("aria-label", leaveText);
    this.buttons.leave.title = leaveText;
    this.buttons.leave.querySelector(".ctl-text")!.textContent = this.leaveArmed ? "End for all" : "Leave";
    const roomName = this.el.querySelector(".room-name");
    if (roomName && s.room) roomName.textContent = s.room.locked ? `${s.room.name} · locked` : s.room.name;
  }

  // ---- side panel -------------------------------------------------------------

  private renderPanel(s: MeetingState): void {
    const p = s.panel;
    // Hiding the panel would drop the focus inside it to the page: it goes
    // back to the button that opened the panel.
    const was = this.renderedPanel;
    const focusBack = p === null && was !== "none" && this.panel.contains(document.activeElement) ? was : null;
    this.panel.hidden = p === null;
    this.el.classList.toggle("with-panel", p !== null);
    if (p !== this.renderedPanel) {
      this.renderedPanel = p ?? "none";
      this.chatList = null;
      this.chatJump = null;
      this.peopleList = null;
      this.waitingBox = null;
      this.renderedChatLen = -1;
      if (p === "chat") this.buildChat();
      else if (p === "participants") this.buildPeople();
      else if (p === "settings") void this.buildSettings();
      else this.panel.replaceChildren();
    }
    if (focusBack) this.buttons[focusBack].focus();
    if (p === "chat") this.fillChat(s);
    if (p === "participants") this.fillPeople(s);
  }

  private panelHeader(title: string, panel: Exclude<Panel, null>): HTMLElement {
    return h(
      "header",
      { class: "panel-head" },
      h("h2", { id: `panel-title-${panel}` }, title),
      h(
        "button",
        {
          type: "button",
          class: "icon-btn",
          "aria-label": `Close ${title.toLowerCase()}`,
          onclick: () => this.store.dispatch({ type: "ui/panel", panel: null }),
        },
        icon("close"),
      ),
    );
  }

  private chatLink(url: string): HTMLElement {
    return h(
      "a",
      {
        href: url,
        target: "_blank",
        rel: "noopener noreferrer",
        onclick: (ev: Event) => {
          if (!this.engine.openLink) return;
          ev.preventDefault();
          this.engine.openLink(url);
        },
      },
      url,
    );
  }

  private buildChat(): void {
    const list = h("div", { class: "chat-list", role: "log", "aria-live": "polite", "aria-label": "Chat messages" });
    const input = h("textarea", {
      rows: "2",
      placeholder: "Message everyone",
      "aria-label": "Message",
    });
    const error = h("p", { class: "chat-error", role: "alert" });
    const form = h(
      "form",
      {
        class: "chat-form",
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          const prepared = prepareChat(input.value);
          if ("error" in prepared) {
            error.textContent = prepared.error;
            return;
          }
          error.textContent = "";
          const text = prepared.text;
          input.value = "";
          this.engine.sendChat(text).catch((e: unknown) => {
            input.value = input.value || text;
            error.textContent = e instanceof Error ? e.message : String(e);
          });
        },
      },
      input,
      h("button", { type: "submit", class: "send" }, "Send"),
    );
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        form.requestSubmit();
      }
    });
    // Someone reading back up is not pulled down by a new message; this
    // says one came, and takes them there.
    const jump = h(
      "button",
      {
        type: "button",
        class: "chat-jump",
        hidden: true,
        onclick: () => {
          list.scrollTop = list.scrollHeight;
          jump.hidden = true;
        },
      },
      "New messages below",
    );
    list.addEventListener("scroll", () => {
      if (chatAtBottom(list)) jump.hidden = true;
    });
    this.chatList = list;
    this.chatJump = jump;
    this.panel.setAttribute("aria-labelledby", "panel-title-chat");
    this.panel.dataset.panel = "chat";
    this.panel.replaceChildren(this.panelHeader("Chat", "chat"), list, jump, error, form);
    requestAnimationFrame(() => input.focus());
  }

  private fillChat(s: MeetingState): void {
    const list = this.chatList;
    if (!list || s.chat.length === this.renderedChatLen) return;
    const grew = this.renderedChatLen >= 0 && s.chat.length > this.renderedChatLen;
    this.renderedChatLen = s.chat.length;
    const atBottom = chatAtBottom(list);
    const groups = groupChat(s.chat, s.selfId);
    list.replaceChildren(
      ...(groups.length === 0 ? [h("p", { class: "empty" }, "No messages yet.")] : []),
      ...groups.map((g) =>
        h(
          "div",
          { class: `chat-group${g.self ? " self" : ""}` },
          h(
            "div",
            { class: "chat-meta" },
            h("span", { class: "chat-name" }, g.self ? "You" : g.name),
            h("time", { datetime: new Date(g.ts).toISOString() }, formatTime(g.ts)),
          ),
          ...g.messages.map((m) =>
            h(
              "p",
              { class: "chat-text", "data-seq": String(m.seq), "data-from": m.name },
              ...splitLinks(m.text).map((piece) => ("url" in piece ? this.chatLink(piece.url) : piece.text)),
            ),
          ),
        ),
      ),
    );
    if (atBottom || groups.at(-1)?.self) list.scrollTop = list.scrollHeight;
    else if (grew && this.chatJump) this.chatJump.hidden = false;
  }

  private buildPeople(): void {
    this.peopleList = h("ul", { class: "people", "aria-label": "Participants" });
    this.hostBox = h("div", { class: "host-controls" });
    this.waitingBox = h("section", { class: "waiting", hidden: true });
    this.peopleSig = "";
    this.panel.setAttribute("aria-labelledby", "panel-title-participants");
    this.panel.dataset.panel = "participants";
    this.panel.replaceChildren(
      this.panelHeader("Participants", "participants"),
      ...this.inviteBox(),
      this.hostBox,
      this.waitingBox,
      this.peopleList,
    );
  }

  // Alone in the meeting: say so, rather than show one's own face as if
  // something were wrong; the window that hosts offers its invite link.
  private renderAlone(s: MeetingState): void {
    const alone = s.selfId !== "" && Object.keys(s.participants).length === 1;
    if (alone && !this.aloneCard) {
      this.aloneCard = h(
        "div",
        { class: "alone-card", role: "status", "data-alone": true },
        h("p", { class: "alone-title" }, "You're the only one here"),
        ...(this.engine.hostInvite ? this.inviteBox() : [h("p", { class: "alone-hint" }, "Others will appear here as they join.")]),
      );
      this.stageWrap.append(this.aloneCard);
    }
    // Someone knocking is what matters then, and its prompt sits where
    // the card would.
    if (this.aloneCard) this.aloneCard.hidden = !alone || s.knocks.length > 0;
  }

  // The invite link of a meeting this app hosts, to copy and send: without
  // it nobody could be brought in from the window.
  private inviteBox(): HTMLElement[] {
    const link = this.engine.hostInvite;
    if (!link) return [];
    const field = h("input", { type: "text", readonly: true, value: link, "aria-label": "Invite link", class: "invite-link" });
    const copy = h(
      "button",
      {
        type: "button",
        "data-action": "copy-invite",
        onclick: () => {
          const copied = () => this.toast("Invite link copied");
          // WebKit's clipboard API may refuse outside a secure page; a
          // selected field copies anyway.
          (navigator.clipboard ? navigator.clipboard.writeText(link) : Promise.reject(new Error("no clipboard"))).then(copied, () => {
            field.select();
            if (document.execCommand("copy")) copied();
            else this.toast("Select the link and copy it");
          });
        },
      },
      "Copy link",
    );
    return [
      h(
        "div",
        { class: "invite" },
        h("span", { class: "invite-title" }, "Invite people with this link"),
        h("div", { class: "invite-row" }, field, copy),
        this.engine.hostPassword ? h("span", { class: "invite-title", "data-password": true }, `Password: ${this.engine.hostPassword}`) : null,
      ),
    ];
  }

  private hostAction(p: Promise<void>): void {
    p.catch((e: unknown) => this.toast(e instanceof Error ? e.message : String(e)));
  }

  private fillPeople(s: MeetingState): void {
    const list = this.peopleList;
    if (!list || !this.hostBox) return;
    const rows = participantRows(s);
    const host = selfIsHost(s);
    const locked = s.room?.locked ?? false;
    // Rebuild only when something shown changed, so buttons stay put.
    const sig = JSON.stringify([host, locked, this.endArmed > 0, rows.map((r) => ({ ...r, speaking: false })), s.knocks]);
    if (sig === this.peopleSig) return;
    this.peopleSig = sig;
    this.fillWaiting(s, host);
    if (host) {
      const end = h(
        "button",
        {
          type: "button",
          class: "danger",
          "data-action": "end",
          onclick: () => {
            if (this.endArmed) {
              window.clearTimeout(this.endArmed);
              this.endArmed = 0;
              this.endedByYou = true;
              this.hostAction(
                this.engine.endMeeting().catch((e: unknown) => {
                  this.endedByYou = false;
                  throw e;
                }),
              );
              return;
            }
            // Ending a meeting for everyone takes a second click.
            this.endArmed = window.setTimeout(() => {
              this.endArmed = 0;
              this.schedule();
            }, 4000);
            this.schedule();
          },
        },
        this.endArmed ? "Click again to end for everyone" : "End meeting for everyone",
      );
      this.hostBox.replaceChildren(
        h(
          "button",
          {
            type: "button",
            "data-action": "lock",
            "aria-pressed": String(locked),
            onclick: () => this.hostAction(this.engine.setLocked(!locked)),
          },
          locked ? "Unlock meeting" : "Lock meeting",
        ),
        end,
      );
    } else {
      this.hostBox.replaceChildren();
    }
    list.replaceChildren(
      ...rows.map((r) =>
        h(
          "li",
          {
            class: "person",
            "data-participant": r.id,
            "data-name": r.name,
            "data-muted": String(r.micMuted),
          },
          h("span", { class: "avatar small", "aria-hidden": "true" }, initials(r.name)),
          h(
            "span",
            { class: "person-name" },
            r.name,
            r.self ? h("span", { class: "tag" }, " (you)") : null,
            r.host ? h("span", { class: "tag host" }, "host") : null,
            r.reconnecting ? h("span", { class: "tag reconnecting" }, "reconnecting…") : null,
          ),
          h(
            "span",
            { class: "person-icons" },
            r.sharing ? icon("screen", "sharing screen") : null,
            r.cameraOff ? icon("cam-off", "camera off") : icon("cam", "camera on"),
            r.micMuted ? icon("mic-off", "microphone off") : icon("mic", "microphone on"),
          ),
          h(
            "span",
            { class: "person-actions" },
            host && !r.self && r.liveMicId && this.engine.capabilities.moderation
              ? h(
                  "button",
                  {
                    type: "button",
                    class: "mute-other",
                    "aria-label": `Mute ${r.name}`,
                    onclick: () => this.hostAction(this.engine.muteParticipant(r.id, r.liveMicId!)),
                  },
                  "Mute",
                )
              : null,
            host && !r.self
              ? h(
                  "button",
                  {
                    type: "button",
                    class: "remove",
                    "aria-label": `Remove ${r.name}`,
                    onclick: () => this.hostAction(this.engine.removeParticipant(r.id)),
                  },
                  "Remove",
                )
              : null,
          ),
        ),
      ),
    );
  }

  private async buildSettings(): Promise<void> {
    this.panel.setAttribute("aria-labelledby", "panel-title-settings");
    this.panel.dataset.panel = "settings";
    const body = h("div", { class: "settings" });
    this.panel.replaceChildren(this.panelHeader("Devices", "settings"), body);
    const devices = await this.engine.listDevices().catch(() => []);
    if (this.renderedPanel !== "settings") return;
    const picker = (kind: "videoinput" | "audioinput" | "audiooutput", label: string, none: string) => {
      const opts = devices.filter((d) => d.kind === kind);
      const id = `set-${kind}`;
      const sel = h("select", { id, "aria-label": label });
      for (const d of opts) sel.append(h("option", { value: d.deviceId }, d.label));
      if (opts.length === 0) sel.append(h("option", { value: "" }, none));
      const current = opts.find((d) => d.selected);
      if (current) sel.value = current.deviceId;
      sel.disabled = opts.length === 0;
      sel.addEventListener("change", () => {
        this.engine.selectDevice(kind, sel.value).catch((e: unknown) => this.toast(e instanceof Error ? e.message : String(e)));
      });
      return h("div", { class: "field" }, h("label", { for: id }, label), sel);
    };
    body.append(picker("videoinput", "Camera", "No camera found"), picker("audioinput", "Microphone", "No microphone found"));
    if (this.engine.capabilities.speakerSelection) body.append(picker("audiooutput", "Speaker", "No speaker found"));
    const cap = await this.bandwidthField();
    if (this.renderedPanel !== "settings") return;
    if (cap) body.append(cap);
    body.append(
      h(
        "p",
        { class: "hint" },
        `Shortcuts: ${shortcuts.mic} microphone, ${shortcuts.camera} camera, ${shortcuts.share} share screen, ${shortcuts.chat} chat, ${shortcuts.participants} participants, ${shortcuts.stats} statistics.`,
      ),
    );
  }

  // The user's bandwidth cap, for a bad link: it lowers the video we send
  // and asks the host to send us less.
  private async bandwidthField(): Promise<HTMLElement | null> {
    const e = this.engine;
    if (!e.maxBitrate || !e.setMaxBitrate) return null;
    const current = await e.maxBitrate().catch(() => 0);
    const choices = bandwidthChoices(current);
    const sel = h("select", { id: "set-bandwidth", "aria-label": "Bandwidth" });
    for (const c of choices) sel.append(h("option", { value: String(c.kbps) }, c.label));
    sel.value = String(current);
    sel.addEventListener("change", () => {
      const kbps = Number(sel.value);
      e.setMaxBitrate?.(kbps).then(
        () => this.toast(kbps === 0 ? "Video bandwidth: no limit" : `Video bandwidth: at most ${bandwidthLabel(kbps)} each way`),
        (err: unknown) => this.toast(err instanceof Error ? err.message : String(err)),
      );
    });
    return h("div", { class: "field" }, h("label", { for: "set-bandwidth" }, "Bandwidth"), sel);
  }

  // ---- toasts and overlay -------------------------------------------------------

  private renderToasts(s: MeetingState): void {
    const have = new Set(s.toasts.map((t) => t.id));
    for (const el of [...this.toasts.children] as HTMLElement[]) {
      if (!have.has(Number(el.dataset.toast))) el.remove();
    }
    for (const t of s.toasts) {
      if (this.toastTimers.has(t.id)) continue;
      this.toasts.append(h("div", { class: "toast", "data-toast": String(t.id) }, t.text));
      this.toastTimers.set(
        t.id,
        window.setTimeout(() => {
          this.toastTimers.delete(t.id);
          this.store.dispatch({ type: "ui/toast-expired", id: t.id });
        }, toastMs),
      );
    }
  }

  // Hosts see who waits in the lobby, each with Admit and Deny; the
  // participants panel lists them itself while it is open.
  private renderKnocks(s: MeetingState): void {
    const show = selfIsHost(s) && s.knocks.length > 0 && s.panel !== "participants";
    const sig = show ? JSON.stringify(s.knocks) : "";
    if (sig === this.knocksSig) return;
    this.knocksSig = sig;
    this.knocks.hidden = !show;
    if (!show) {
      this.knocks.replaceChildren();
      return;
    }
    this.knocks.replaceChildren(
      ...s.knocks.map((k) =>
        h(
          "div",
          { class: "knock", "data-knock": k.id, "data-name": k.name },
          h("span", { class: "knock-text" }, k.removed ? `${k.name}, removed earlier, wants to join again` : `${k.name} wants to join`),
          this.knockActions(k),
        ),
      ),
    );
  }

  private knockActions(k: Knock): HTMLElement {
    if (!this.engine.capabilities.moderation) return h("span", { class: "hint" }, "Admit them from a browser with the host link.");
    return h(
      "span",
      { class: "knock-actions" },
      h("button", { type: "button", class: "primary", "aria-label": `Admit ${k.name}`, onclick: () => this.hostAction(this.engine.admit(k.id)) }, "Admit"),
      h("button", { type: "button", class: "secondary", "aria-label": `Deny ${k.name}`, onclick: () => this.hostAction(this.engine.deny(k.id)) }, "Deny"),
    );
  }

  // The participants panel lists who waits to join above who is in, so a
  // host who closed or missed the prompt still finds them.
  private fillWaiting(s: MeetingState, host: boolean): void {
    const box = this.waitingBox;
    if (!box) return;
    box.hidden = !host || s.knocks.length === 0;
    if (box.hidden) {
      box.replaceChildren();
      return;
    }
    box.replaceChildren(
      h("h3", { class: "people-head", id: "waiting-title" }, `Waiting to join (${s.knocks.length})`),
      h(
        "ul",
        { class: "people", "aria-labelledby": "waiting-title" },
        ...s.knocks.map((k) =>
          h(
            "li",
            { class: "person", "data-knock": k.id, "data-name": k.name },
            h("span", { class: "avatar small", "aria-hidden": "true" }, initials(k.name)),
            h("span", { class: "person-name" }, k.name, k.removed ? h("span", { class: "tag" }, " (removed earlier)") : null),
            this.knockActions(k),
          ),
        ),
      ),
    );
  }

  // While the engine reconnects the meeting stays on screen (media that
  // still flows keeps playing) under a banner; if it gives up, the guest
  // flow shows the "Connection lost" screen instead of the meeting.
  private renderReconnect(s: MeetingState): void {
    const on = s.connection === "reconnecting";
    this.reconnect.hidden = !on;
    if (!on) {
      window.clearInterval(this.retryTimer);
      this.retryTimer = 0;
      this.reconnect.replaceChildren();
      return;
    }
    if (!this.reconnect.hasChildNodes()) {
      const status = h("span", { class: "retry-status" });
      this.reconnect.replaceChildren(
        h("div", { class: "spinner small", "aria-hidden": "true" }),
        h("strong", {}, "Reconnecting…"),
        status,
        h("button", { type: "button", onclick: () => this.engine.reconnectNow() }, "Reconnect now"),
      );
      const tick = () => {
        const left = Math.max(0, Math.ceil((this.retryAt - Date.now()) / 1000));
        status.textContent = left > 0 ? `Retrying in ${left} s` : "Retrying…";
      };
      tick();
      this.retryTimer = window.setInterval(tick, 250);
    }
  }
}

// The label says what pressing does ("Mute microphone"), so no aria-pressed.
function setToggle(b: HTMLButtonElement, pressed: boolean, iconName: string, label: string, key: string): void {
  b.dataset.on = String(pressed);
  b.setAttribute("aria-label", `${label} (${key})`);
  b.title = `${label} (${key})`;
  const svg = b.querySelector("svg");
  if (svg && !svg.classList.contains(`icon-${iconName}`)) svg.replaceWith(icon(iconName));
}

function formatTime(ts: number): string {
  return new Date(ts).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

// Within 40 px of the end counts as reading the latest.
function chatAtBottom(list: HTMLElement): boolean {
  return list.scrollHeight - list.scrollTop - list.clientHeight < 40;
}

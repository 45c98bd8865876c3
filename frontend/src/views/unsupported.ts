import { h } from "../dom";

// Shown when the webview cannot decode video: joining would show black tiles,
// so we say why and what to do instead of pretending.
export function renderUnsupported(root: HTMLElement, reason: string): void {
  root.replaceChildren(
    h(
      "section",
      { class: "error-screen", "data-view": "unsupported", role: "alert" },
      h("h1", {}, "Video can't be shown here"),
      h("p", {}, `This window's web engine cannot decode VP8 video: ${reason}.`),
      h(
        "p",
        {},
        "Update WebKitGTK and GStreamer (gstreamer1.0-plugins-good), or join the meeting from Chrome or Firefox with the invite link.",
      ),
    ),
  );
}

// The desktop engine's public surface for the UI.
export { DesktopEngine, type DesktopTarget } from "./engine";
export { desktopIntent, planLaunch, type LaunchPlan } from "./launch";
export { desktopBindings } from "./bindings";
export { startDesktopMeeting } from "./meeting";

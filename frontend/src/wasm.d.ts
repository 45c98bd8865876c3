// Vite resolves "?url" imports to the asset's URL (or a data: URL for a
// small one).
declare module "*?url" {
  const url: string;
  export default url;
}

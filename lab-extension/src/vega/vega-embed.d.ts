// The project resolves modules the "node10" way, which ignores `exports` maps, so TypeScript
// cannot see vega-embed's own types. This declares the small part labtrack uses.
declare module 'vega-embed' {
  export interface IVegaView {
    finalize(): void;
  }
  export interface IEmbedResult {
    view: IVegaView;
    finalize(): void;
  }
  export default function embed(
    el: HTMLElement,
    spec: unknown,
    options?: Record<string, unknown>
  ): Promise<IEmbedResult>;
}

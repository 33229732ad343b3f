/**
 * Registers a custom element unless the tag is taken already: a page may load the widget
 * twice (two embeds of different versions), and the second `define` would throw.
 */
export function define(tag: string, element: CustomElementConstructor): void {
  if (!customElements.get(tag)) customElements.define(tag, element);
}

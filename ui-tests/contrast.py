"""The WCAG contrast measure of the UI tests (``test_ui_contrast.py``; the hub tests load it too):
for each visible text element under some root selectors, the ratio between the text color and
the background actually behind it (ancestor backgrounds composited, opacity applied).
"""

# Runs in the page: returns the offenders under `root_selectors`.
CONTRAST_JS = r"""
(rootSelectors) => {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 1;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  // Any CSS color -> [r, g, b, a] (0-255, alpha 0-1), through the canvas.
  const parse = css => {
    ctx.clearRect(0, 0, 1, 1);
    ctx.fillStyle = 'rgba(0, 0, 0, 0)';
    ctx.fillStyle = css;
    ctx.fillRect(0, 0, 1, 1);
    const [r, g, b, a] = ctx.getImageData(0, 0, 1, 1).data;
    return [r, g, b, a / 255];
  };
  const over = (top, bottom) => {
    const a = top[3] + bottom[3] * (1 - top[3]);
    if (a === 0) return [0, 0, 0, 0];
    const mix = i => (top[i] * top[3] + bottom[i] * bottom[3] * (1 - top[3])) / a;
    return [mix(0), mix(1), mix(2), a];
  };
  const luminance = ([r, g, b]) => {
    const lin = v => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const ratio = (a, b) => {
    const [l1, l2] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (l1 + 0.05) / (l2 + 0.05);
  };
  const pageBackground = () => {
    const body = parse(getComputedStyle(document.body).backgroundColor);
    return body[3] === 1 ? body : over(body, [255, 255, 255, 1]);
  };
  // The background behind an element: its and its ancestors' backgrounds.
  const background = element => {
    const layers = [];
    for (let node = element; node && node.nodeType === 1; node = node.parentElement) {
      const color = parse(getComputedStyle(node).backgroundColor);
      if (color[3] > 0) {
        layers.push(color);
        if (color[3] === 1) break;
      }
    }
    let result = layers.length && layers[layers.length - 1][3] === 1
      ? layers.pop() : pageBackground();
    while (layers.length) result = over(layers.pop(), result);
    return result;
  };
  const opacity = element => {
    let value = 1;
    for (let node = element; node && node.nodeType === 1; node = node.parentElement) {
      value *= Number(getComputedStyle(node).opacity);
    }
    return value;
  };
  const disabled = element =>
    !!element.closest(':disabled, [aria-disabled="true"], .lt-mod-disabled');
  const visible = element => {
    const rect = element.getBoundingClientRect();
    // (1 px: visually hidden text for screen readers, not seen)
    if (rect.width <= 1 || rect.height <= 1) return false;
    if (rect.bottom < 0 || rect.right < 0 || rect.top > innerHeight || rect.left > innerWidth) {
      return false;
    }
    const style = getComputedStyle(element);
    return style.visibility !== 'hidden' && style.display !== 'none';
  };
  const describe = element => {
    const classes = [...element.classList].slice(0, 3).join('.');
    return element.tagName.toLowerCase() + (classes ? '.' + classes : '');
  };
  const hex = c =>
    '#' + c.slice(0, 3).map(v => Math.round(v).toString(16).padStart(2, '0')).join('');

  const offenders = [];
  let checked = 0;
  const seen = new Set();
  for (const selector of rootSelectors) {
    for (const root of document.querySelectorAll(selector)) {
      const elements = [root, ...root.querySelectorAll('*')];
      for (const element of elements) {
        if (seen.has(element)) continue;
        seen.add(element);
        const own = [...element.childNodes]
          .filter(n => n.nodeType === 3)
          .map(n => n.textContent.trim())
          .join(' ')
          .trim();
        const isField = element.matches(
          'input[type="text"], input[type="search"], input:not([type]), select, textarea'
        );
        const text = own || (isField ? (element.value || '').trim() : '');
        if (!text || !visible(element)) continue;
        if (element.closest('[aria-hidden="true"]') && !own.match(/\w/)) continue;
        const style = getComputedStyle(element);
        const isSvgText = element instanceof SVGElement;
        let fg = parse(isSvgText ? style.fill : style.color);
        const bg = background(isSvgText ? element.closest('svg') : element);
        fg = [fg[0], fg[1], fg[2], fg[3] * opacity(element)];
        const shown = over(fg, bg);
        const value = ratio(shown, bg);
        const size = parseFloat(style.fontSize);
        const bold = Number(style.fontWeight) >= 700;
        const large = size >= 24 || (bold && size >= 18.66);
        const need = large || disabled(element) ? 3 : 4.5;
        checked++;
        if (value < need) {
          offenders.push({
            element: describe(element),
            text: text.slice(0, 40),
            color: hex(shown),
            background: hex(bg),
            ratio: Math.round(value * 100) / 100,
            need
          });
        }
      }
    }
  }
  return { checked, offenders };
}
"""

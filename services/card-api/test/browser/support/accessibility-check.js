/* global document, getComputedStyle, Node */
/**
 * The accessibility check the browser tests run inside the page (page.evaluate of this file's text): plain browser
 * JavaScript, as it runs in Chromium, so the tests' Node type-checking does not need the DOM library.
 * Returns an AccessibilityReport (support/browser.ts).
 */
(() => {
  const describe = (element) => {
    const id = element.id ? `#${element.id}` : '';
    const name = element.getAttribute('name') ? `[name=${element.getAttribute('name') ?? ''}]` : '';
    const text = (element.textContent ?? '').trim().slice(0, 40);
    return `${element.tagName.toLowerCase()}${id}${name}${text ? ` "${text}"` : ''}`;
  };
  const visible = (element) => {
    const box = element.getBoundingClientRect();
    const style = getComputedStyle(element);
    return box.width > 0 && box.height > 0 && style.visibility !== 'hidden' && style.display !== 'none';
  };
  const labelled = (element) => {
    const control = /** @type {HTMLInputElement} */ (element);
    const byLabel = Array.from(control.labels ?? []).some((label) => (label.textContent ?? '').trim() !== '');
    const byAria = (element.getAttribute('aria-label') ?? '').trim() !== '';
    const byReference = (element.getAttribute('aria-labelledby') ?? '')
      .split(/\s+/)
      .some((id) => id !== '' && (document.getElementById(id)?.textContent ?? '').trim() !== '');
    return byLabel || byAria || byReference;
  };

  const parse = (value) => {
    const numbers = (value.match(/[\d.]+%?/g) ?? []).map((part) =>
      part.endsWith('%') ? Number(part.slice(0, -1)) / 100 : Number(part),
    );
    return [numbers[0] ?? 0, numbers[1] ?? 0, numbers[2] ?? 0, numbers[3] ?? 1];
  };
  const blend = (top, bottom) => {
    const alpha = top[3];
    return [
      top[0] * alpha + bottom[0] * (1 - alpha),
      top[1] * alpha + bottom[1] * (1 - alpha),
      top[2] * alpha + bottom[2] * (1 - alpha),
      1,
    ];
  };
  const background = (element) => {
    const layers = [];
    for (let node = element; node; node = node.parentElement) {
      const colour = parse(getComputedStyle(node).backgroundColor);
      if (colour[3] > 0) {
        layers.push(colour);
        if (colour[3] >= 1) {
          break;
        }
      }
    }
    return layers.reduceRight((below, layer) => blend(layer, below), [255, 255, 255, 1]);
  };
  const luminance = ([r, g, b]) => {
    const channel = (value) => {
      const scaled = value / 255;
      return scaled <= 0.03928 ? scaled / 12.92 : ((scaled + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  const contrast = (a, b) => {
    const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (light + 0.05) / (dark + 0.05);
  };

  const controls = Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea')).filter(
    visible,
  );
  const textElements = Array.from(document.body.querySelectorAll('*')).filter(
    (element) =>
      visible(element) &&
      Array.from(element.childNodes).some(
        (child) => child.nodeType === Node.TEXT_NODE && (child.textContent ?? '').trim() !== '',
      ),
  );
  const lowContrastText = textElements.flatMap((element) => {
    const style = getComputedStyle(element);
    const bottom = background(element);
    const ratio = contrast(blend(parse(style.color), bottom), bottom);
    return ratio < 4.5 ? [`${describe(element)}: ${ratio.toFixed(2)}:1`] : [];
  });

  return {
    unlabelledControls: controls.filter((control) => !labelled(control)).map(describe),
    positiveTabindex: Array.from(document.querySelectorAll('[tabindex]'))
      .filter((element) => Number(element.getAttribute('tabindex')) > 0)
      .map(describe),
    imagesWithoutAlt: Array.from(document.querySelectorAll('img:not([alt])')).map(describe),
    unnamedButtons: Array.from(document.querySelectorAll('button'))
      .filter(visible)
      .filter((element) => (element.getAttribute('aria-label') ?? element.textContent ?? '').trim() === '')
      .map(describe),
    tablesWithoutCaption: Array.from(document.querySelectorAll('table'))
      .filter((element) => (element.querySelector('caption')?.textContent ?? '').trim() === '')
      .map(describe),
    headerCellsWithoutScope: Array.from(document.querySelectorAll('th'))
      .filter(
        (element) => !['col', 'row', 'colgroup', 'rowgroup'].includes(element.getAttribute('scope') ?? ''),
      )
      .map(describe),
    lowContrastText,
    landmarks: {
      header: document.querySelectorAll('header').length,
      nav: document.querySelectorAll('nav').length,
      main: document.querySelectorAll('main').length,
      h1: document.querySelectorAll('h1').length,
      liveRegions: document.querySelectorAll('[aria-live], [role=status], [role=alert]').length,
    },
  };
})();

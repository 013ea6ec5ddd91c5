// The console's tabs: each page module registers its section; the URL hash keeps the open tab across reloads.

import { $ } from './dom.js';

const tabs = new Map();

/**
 * Adds a tab for the `#tabs a[data-tab=name]` link. `owns(hash)` says whether a URL hash opens this tab, `hash()` what
 * the hash becomes when the user opens it; `onShow`/`onHide` start and stop its polling. Returns whether the page's
 * current hash belongs to this tab (the module opens it when its data is ready).
 */
export function registerTab(name, { section, onShow = () => undefined, onHide = () => undefined, hash = () => `#${name}`, owns = (h) => h === `#${name}` }) {
  tabs.set(name, { section, onShow, onHide, hash, shown: false });
  const link = $(`#tabs a[data-tab="${name}"]`);
  link?.addEventListener('click', (event) => {
    event.preventDefault();
    history.replaceState(null, '', tabs.get(name).hash());
    showTab(name);
  });
  return owns(location.hash);
}

export function showTab(name) {
  for (const [key, tab] of tabs) {
    const show = key === name;
    for (const node of document.querySelectorAll(tab.section)) node.hidden = !show;
    if (show && !tab.shown) tab.onShow();
    if (!show && tab.shown) tab.onHide();
    tab.shown = show;
  }
  for (const a of document.querySelectorAll('#tabs a')) a.classList.toggle('active', a.dataset.tab === name);
}

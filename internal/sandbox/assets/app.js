// The sandbox page: the release channel of the fake Slack, kept live by
// server-sent events, with a command box, a user switcher, buttons and
// dialogs. No framework and nothing loaded from elsewhere.
//
// Safety rule: every piece of text from a message is escaped (escapeHTML)
// before any markup is added around it; the only HTML ever assigned to the
// DOM comes out of mrkdwn() and plain() below.
'use strict';
(() => {
  // Emoji codes the bot uses, and a few common ones; others stay as text.
  const EMOJI = {
    white_check_mark: '✅', heavy_check_mark: '✔️', x: '❌', no_entry: '⛔', no_entry_sign: '🚫',
    warning: '⚠️', hourglass: '⌛', hourglass_flowing_sand: '⏳', alarm_clock: '⏰', stopwatch: '⏱️',
    rocket: '🚀', tada: '🎉', new: '🆕', wave: '👋', shield: '🛡️', receipt: '🧾',
    ballot_box_with_check: '☑️', gear: '⚙️', heavy_multiplication_x: '✖️', zzz: '💤',
    leftwards_arrow_with_hook: '↩️', arrow_right: '➡️', grey_question: '❔', question: '❓',
    grey_exclamation: '❕', exclamation: '❗', information_source: 'ℹ️', eyes: '👀', lock: '🔒',
    unlock: '🔓', package: '📦', clipboard: '📋', memo: '📝', link: '🔗', repeat: '🔁',
    arrows_counterclockwise: '🔄', construction: '🚧', fire: '🔥', bell: '🔔', sparkles: '✨',
    '+1': '👍', thumbsup: '👍', '-1': '👎', thumbsdown: '👎', point_right: '👉', bulb: '💡',
    red_circle: '🔴', large_green_circle: '🟢', large_yellow_circle: '🟡', large_blue_circle: '🔵',
    white_circle: '⚪', heavy_plus_sign: '➕', heavy_minus_sign: '➖', calendar: '📅', mag: '🔍',
    ship: '🚢', hammer_and_wrench: '🛠️', robot_face: '🤖', stop_sign: '🛑', lock_with_ink_pen: '🔏',
  };

  const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  const escapeHTML = s => String(s ?? '').replace(/[&<>"']/g, c => ESCAPES[c]);
  // Slack sends &, < and > inside mrkdwn as these three entities, and only these.
  const unslack = s => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  const emojify = html => html.replace(/:([a-z0-9_+-]+):/g, (m, name) => EMOJI[name] || m);

  // The page's state.
  const st = {
    me: new URLSearchParams(location.search).get('user') || '',
    users: [], bot: { id: '', name: 'release-bot' }, channel: { id: '', name: '' },
    msgs: new Map(), // ts → message
    collapsed: new Set(), // thread parents whose replies are hidden
    views: [], // dialogs waiting to be shown, the first one showing
    home: null, // the user's Home tab as the bot last published it
    tab: 'channel', // or 'home'
    source: null,
  };
  const userName = id => (id === st.bot.id ? st.bot.name : (st.users.find(u => u.id === id) || {}).name);
  const channelName = id => (id === st.channel.id ? st.channel.name : '');

  // plain renders a plain_text string.
  const plain = t => emojify(escapeHTML(t));

  // control renders what Slack writes between < and >: links, mentions,
  // dates. Anything else shows as the text it is.
  function control(inner, links) {
    const bar = inner.indexOf('|');
    const target = bar < 0 ? inner : inner.slice(0, bar);
    const label = bar < 0 ? '' : unslack(inner.slice(bar + 1));
    const mention = text => '<span class="mention">' + escapeHTML(text) + '</span>';
    const id = target.slice(1);
    if (target[0] === '@') return mention('@' + (userName(id) || label.replace(/^@/, '') || id));
    if (target[0] === '#') return mention('#' + (label || channelName(id) || id));
    if (target[0] === '!') {
      const [kind, ...rest] = id.split('^');
      if (kind === 'subteam') return mention(label || '@' + rest[0]);
      if (kind === 'date') return escapeHTML(label || new Date(Number(rest[0]) * 1000).toLocaleString());
      if (kind === 'here' || kind === 'channel' || kind === 'everyone') return mention('@' + kind);
      return escapeHTML(label || id);
    }
    const url = unslack(target);
    if (/^(https?:\/\/|mailto:)/i.test(url)) {
      const text = label ? mrkdwn(label, false) : escapeHTML(url);
      if (!links) return text;
      return '<a href="' + escapeHTML(url) + '" target="_blank" rel="noopener noreferrer">' + text + '</a>';
    }
    return escapeHTML('<' + unslack(inner) + '>');
  }

  // mrkdwn renders Slack mrkdwn as HTML. Code, links and mentions are
  // rendered first and held aside as numbered holes (\0n\0), the rest is
  // escaped, then the bold/italic/strike/emoji markup is applied to the
  // escaped text and the holes are filled back in.
  function mrkdwn(src, links = true) {
    const slots = [];
    const hold = html => '\u0000' + (slots.push(html) - 1) + '\u0000';
    let s = String(src ?? '').replace(/\u0000/g, '');
    s = s.replace(/```([\s\S]*?)```/g, (_, body) => hold('<pre>' + escapeHTML(unslack(body.replace(/^\n/, ''))) + '</pre>'));
    s = s.replace(/<([^<>\n]*)>/g, (_, inner) => hold(control(inner, links)));
    s = s.replace(/`([^`\n]+)`/g, (_, code) => hold('<code>' + escapeHTML(unslack(code)) + '</code>'));
    s = escapeHTML(unslack(s));
    s = s.replace(/(^|[^\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])/g, '$1<b>$2</b>');
    s = s.replace(/(^|[^\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])/g, '$1<i>$2</i>');
    s = s.replace(/(^|[^\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])/g, '$1<s>$2</s>');
    s = emojify(s).replace(/\n/g, '<br>');
    for (let i = 0; i < 4 && s.includes('\u0000'); i++) {
      s = s.replace(/\u0000(\d+)\u0000/g, (_, n) => slots[Number(n)] ?? '');
    }
    return s;
  }

  // text renders a Block Kit text object.
  const text = t => (!t ? '' : t.type === 'mrkdwn' ? mrkdwn(t.text) : plain(t.text));

  // el builds an element; "html" takes only mrkdwn()/plain()/text() output.
  function el(tag, props, ...kids) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') n.className = v;
      else if (k === 'html') n.innerHTML = v;
      else if (k === 'text') n.textContent = v;
      else n.setAttribute(k, v);
    }
    for (const k of kids.flat()) if (k !== undefined && k !== null && k !== false) n.append(k);
    return n;
  }

  const confirms = new WeakMap(); // button → its confirm dialog

  function element(e, blockID) {
    if (e.type === 'button') {
      const b = el('button', {
        type: 'button', class: 'btn' + (e.style ? ' ' + e.style : ''), html: plain(e.text && e.text.text),
        'data-action-id': e.action_id || '', 'data-block-id': blockID || '', 'data-value': e.value ?? '',
        'data-url': e.url,
      });
      if (e.confirm) confirms.set(b, e.confirm);
      return b;
    }
    return el('span', { class: 'b-unsupported', text: '[' + e.type + ']' });
  }

  function renderBlock(b) {
    switch (b.type) {
      case 'header':
        return el('div', { class: 'b-header', html: plain(b.text && b.text.text) });
      case 'section':
        return el('div', { class: 'b-section' },
          el('div', { class: 'b-section-main' },
            b.text && el('div', { class: 'b-text', html: text(b.text) }),
            b.fields && el('div', { class: 'b-fields' }, b.fields.map(f => el('div', { class: 'b-field', html: text(f) })))),
          b.accessory && el('div', { class: 'b-accessory' }, element(b.accessory, b.block_id)));
      case 'context':
        return el('div', { class: 'b-context' }, (b.elements || []).map(e =>
          e.type === 'image' ? el('span', { class: 'b-image', text: e.alt_text || '' }) : el('span', { html: text(e) })));
      case 'divider':
        return el('hr', { class: 'b-divider' });
      case 'actions':
        return el('div', { class: 'b-actions' }, (b.elements || []).map(e => element(e, b.block_id)));
      case 'input': {
        const e = b.element || {};
        const multi = e.type === 'plain_text_input' && e.multiline;
        const field = el(multi ? 'textarea' : 'input', {
          class: 'b-input', id: 'in-' + b.block_id, 'data-block-id': b.block_id, 'data-action-id': e.action_id,
          placeholder: e.placeholder && e.placeholder.text, required: !b.optional && '', rows: multi && '4',
          maxlength: e.max_length,
        });
        if (e.initial_value) field.value = e.initial_value;
        return el('div', { class: 'b-input-block' },
          el('label', { for: 'in-' + b.block_id, html: plain(b.label && b.label.text) + (b.optional ? ' <small>(optional)</small>' : '') }),
          field, b.hint && el('div', { class: 'b-hint', html: plain(b.hint.text) }));
      }
      default:
        return el('div', { class: 'b-unsupported', text: '[' + b.type + ' block]' });
    }
  }

  // tsCompare orders Slack timestamps ("seconds.micros") without floats.
  function tsCompare(a, b) {
    const [as, au = ''] = a.split('.');
    const [bs, bu = ''] = b.split('.');
    return as.length - bs.length || (as < bs ? -1 : as > bs ? 1 : 0) || (au < bu ? -1 : au > bu ? 1 : 0);
  }

  function renderMessage(m) {
    const author = userName(m.user) || m.user || 'unknown';
    const when = new Date(Number(m.ts.split('.')[0]) * 1000);
    let body;
    if (m.deleted) body = el('div', { class: 'deleted', text: 'This message was deleted.' });
    else if (m.blocks && m.blocks.length) body = el('div', { class: 'blocks' }, m.blocks.map(renderBlock));
    else body = el('div', { class: 'b-text', html: mrkdwn(m.text) });
    return el('div', {
      class: 'msg' + (m.ephemeral ? ' ephemeral' : '') + (m.thread_ts ? ' reply' : '') + (m.deleted ? ' is-deleted' : ''),
      'data-ts': m.ts, 'data-thread-ts': m.thread_ts,
    },
    el('div', { class: 'avatar', 'aria-hidden': 'true', text: author[0].toUpperCase() }),
    el('div', { class: 'msg-main' },
      el('div', { class: 'msg-head' },
        el('span', { class: 'author', text: author }),
        m.user === st.bot.id && el('span', { class: 'app', text: 'APP' }),
        el('time', { class: 'time', datetime: when.toISOString(), title: when.toLocaleString(),
          text: when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) }),
        m.edited && !m.deleted && el('span', { class: 'edited', text: '(edited)' })),
      m.ephemeral && el('div', { class: 'only-you', text: 'Only visible to you' }),
      body));
  }

  const channelEl = document.getElementById('channel');

  function render() {
    const atBottom = channelEl.scrollHeight - channelEl.scrollTop - channelEl.clientHeight < 60;
    const all = [...st.msgs.values()].sort((a, b) => tsCompare(a.ts, b.ts));
    const replies = new Map();
    const top = [];
    for (const m of all) {
      if (!m.thread_ts || m.thread_ts === m.ts) top.push(m);
      else (replies.get(m.thread_ts) || replies.set(m.thread_ts, []).get(m.thread_ts)).push(m);
    }
    // A reply whose parent this user cannot see hangs from a stand-in.
    for (const ts of replies.keys()) {
      if (!st.msgs.has(ts)) top.push({ ts, user: st.bot.id, deleted: true });
    }
    top.sort((a, b) => tsCompare(a.ts, b.ts));
    const out = [];
    for (const m of top) {
      const rs = replies.get(m.ts) || [];
      if (m.deleted && !rs.length) continue;
      out.push(renderMessage(m));
      if (!rs.length) continue;
      const hidden = st.collapsed.has(m.ts);
      const n = rs.length + (rs.length === 1 ? ' reply' : ' replies');
      out.push(el('div', { class: 'thread', 'data-parent': m.ts },
        el('button', { type: 'button', class: 'thread-toggle', 'data-thread': m.ts, text: (hidden ? 'Show ' : 'Hide ') + n }),
        !hidden && rs.map(renderMessage)));
    }
    if (!out.length) {
      out.push(el('div', { class: 'empty', html: 'No messages yet. Type <code>/release diff</code> below to start.' }));
    }
    channelEl.replaceChildren(...out);
    if (atBottom) channelEl.scrollTop = channelEl.scrollHeight;
  }

  // The app's Home tab: the view the bot published for this user.
  const homeEl = document.getElementById('home');
  function renderHome() {
    if (!st.home) {
      homeEl.replaceChildren(el('div', { class: 'empty', text: 'Opening the Home tab…' }));
      return;
    }
    homeEl.replaceChildren(el('div', { class: 'blocks' }, (st.home.blocks || []).map(renderBlock)));
  }

  // showTab switches between the channel and the Home tab; opening the
  // Home tab is what Slack tells the app (app_home_opened).
  async function showTab(tab) {
    st.tab = tab;
    const home = tab === 'home';
    document.body.dataset.tab = tab;
    channelEl.hidden = home;
    homeEl.hidden = !home;
    document.getElementById('composer').hidden = home;
    document.getElementById('side-channel').classList.toggle('current', !home);
    document.getElementById('side-home').classList.toggle('current', home);
    document.getElementById('channel-name').textContent = home ? 'release-bot · Home' : '# ' + st.channel.name;
    if (!home) return;
    renderHome();
    const r = await post('home', { user: st.me });
    if (!r.ok) status(r.error, 'error');
  }
  document.getElementById('side-channel').addEventListener('click', () => showTab('channel'));
  document.getElementById('side-home').addEventListener('click', () => showTab('home'));

  const statusEl = document.getElementById('status');
  function status(msg, kind) {
    statusEl.textContent = msg;
    statusEl.dataset.kind = kind || 'info';
  }

  async function post(path, body) {
    try {
      const res = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      if (res.ok) return { ok: true };
      let msg = res.status + ' ' + res.statusText;
      try { msg = (await res.json()).error || msg; } catch (_) { /* not JSON */ }
      return { ok: false, error: msg };
    } catch (err) {
      return { ok: false, error: 'The sandbox is not answering: ' + err.message };
    }
  }

  // Buttons, with their confirm dialog when they have one.
  const confirmEl = document.getElementById('confirm');
  function confirmDialog(c) {
    document.getElementById('confirm-title').innerHTML = plain(c.title && c.title.text);
    document.getElementById('confirm-text').innerHTML = text(c.text);
    const yes = document.getElementById('confirm-yes');
    yes.innerHTML = plain((c.confirm && c.confirm.text) || 'Confirm');
    yes.className = 'btn ' + (c.style === 'danger' ? 'danger' : 'primary');
    document.getElementById('confirm-no').innerHTML = plain((c.deny && c.deny.text) || 'Cancel');
    confirmEl.returnValue = '';
    return new Promise(resolve => {
      confirmEl.addEventListener('close', () => resolve(confirmEl.returnValue === 'yes'), { once: true });
      confirmEl.showModal();
    });
  }

  channelEl.addEventListener('click', async ev => {
    const toggle = ev.target.closest('.thread-toggle');
    if (toggle) {
      const ts = toggle.dataset.thread;
      if (!st.collapsed.delete(ts)) st.collapsed.add(ts);
      render();
      return;
    }
    const btn = ev.target.closest('button[data-action-id]');
    if (!btn) return;
    const msg = btn.closest('.msg');
    const conf = confirms.get(btn);
    if (conf && !(await confirmDialog(conf))) return;
    if (btn.dataset.url) window.open(btn.dataset.url, '_blank', 'noopener');
    btn.disabled = true;
    const label = btn.textContent;
    const r = await post('click', {
      user: st.me, ts: msg.dataset.ts, action_id: btn.dataset.actionId, block_id: btn.dataset.blockId, value: btn.dataset.value,
    });
    btn.disabled = false;
    if (r.ok) status('Clicked ' + label + ' as ' + userName(st.me) + '.');
    else status(r.error, 'error');
  });

  homeEl.addEventListener('click', async ev => {
    const btn = ev.target.closest('button[data-action-id]');
    if (!btn) return;
    const conf = confirms.get(btn);
    if (conf && !(await confirmDialog(conf))) return;
    btn.disabled = true;
    const label = btn.textContent;
    const r = await post('home-click', {
      user: st.me, action_id: btn.dataset.actionId, block_id: btn.dataset.blockId, value: btn.dataset.value,
    });
    btn.disabled = false;
    if (r.ok) status('Clicked ' + label + ' on the Home tab as ' + userName(st.me) + '.');
    else status(r.error, 'error');
  });

  // The command box.
  const cmdInput = document.getElementById('command-input');
  document.getElementById('command').addEventListener('submit', async ev => {
    ev.preventDefault();
    let cmd = cmdInput.value.trim();
    if (!cmd) return;
    if (!cmd.startsWith('/')) cmd = '/release ' + cmd;
    const r = await post('command', { user: st.me, text: cmd });
    if (r.ok) {
      cmdInput.value = '';
      status('Ran ' + cmd + ' as ' + userName(st.me) + '.');
    } else status(r.error, 'error');
  });

  // Dialogs the bot opens (views.open).
  const modalEl = document.getElementById('modal');
  const modalErr = document.getElementById('modal-error');
  function showView() {
    const v = st.views[0];
    if (!v || modalEl.open) return;
    const view = v.view || {};
    modalEl.dataset.viewId = v.id;
    document.getElementById('modal-title').innerHTML = plain(view.title && view.title.text);
    document.getElementById('modal-body').replaceChildren(...(view.blocks || []).map(renderBlock));
    const submit = document.getElementById('modal-submit');
    submit.hidden = !view.submit;
    submit.innerHTML = plain((view.submit && view.submit.text) || 'Submit');
    document.getElementById('modal-close').innerHTML = plain((view.close && view.close.text) || 'Cancel');
    modalErr.textContent = '';
    modalEl.showModal();
  }
  function closeView() {
    st.views.shift();
    if (modalEl.open) modalEl.close();
    showView();
  }
  function openView(v) {
    if (!st.views.some(x => x.id === v.id)) st.views.push(v);
    showView();
  }
  async function dismissView() {
    const id = modalEl.dataset.viewId;
    closeView();
    await post('dismiss', { user: st.me, view_id: id });
  }
  document.getElementById('modal-close').addEventListener('click', dismissView);
  modalEl.addEventListener('cancel', ev => { ev.preventDefault(); dismissView(); });
  document.getElementById('modal-form').addEventListener('submit', async ev => {
    ev.preventDefault();
    const values = {};
    for (const f of modalEl.querySelectorAll('[data-block-id][data-action-id].b-input')) {
      (values[f.dataset.blockId] ||= {})[f.dataset.actionId] = f.value;
    }
    const r = await post('submit', { user: st.me, view_id: modalEl.dataset.viewId, values });
    if (r.ok) {
      closeView();
      status('Submitted as ' + userName(st.me) + '.');
    } else modalErr.textContent = r.error;
  });

  // The user switcher.
  const userSel = document.getElementById('user');
  userSel.addEventListener('change', () => {
    st.me = userSel.value;
    history.replaceState(null, '', '?user=' + encodeURIComponent(st.me));
    st.views = [];
    if (modalEl.open) modalEl.close();
    connect();
  });

  function load(s) {
    st.me = s.user;
    st.users = s.users;
    st.bot = s.bot;
    st.channel = s.channel;
    st.msgs = new Map(s.messages.map(m => [m.ts, m]));
    userSel.replaceChildren(...s.users.map(u => el('option', { value: u.id, text: u.name + ' (' + u.role + ')' })));
    userSel.value = st.me;
    document.getElementById('side-channel').textContent = '# ' + s.channel.name;
    document.title = '#' + s.channel.name + ' · release-bot sandbox';
    document.body.dataset.user = st.me;
    // After a reconnection, a dialog still open on the server stays up with
    // what was typed into it.
    const showing = s.views.find(v => modalEl.open && v.id === modalEl.dataset.viewId);
    if (!showing && modalEl.open) modalEl.close();
    st.views = showing ? [showing] : [];
    render();
    st.home = s.home || null;
    // Another user (or a reconnection) on the Home tab opens it afresh.
    showTab(st.tab);
    s.views.forEach(openView);
  }

  function live(on) {
    document.body.dataset.live = on ? 'true' : 'false';
    const l = document.getElementById('live');
    l.textContent = on ? 'live' : 'reconnecting…';
    l.classList.toggle('on', on);
  }

  // connect opens the event stream for the selected user. Its first event
  // is the whole channel; EventSource reconnects by itself and each
  // reconnection starts with a fresh one.
  function connect() {
    if (st.source) st.source.close();
    live(false);
    const src = new EventSource('events' + (st.me ? '?user=' + encodeURIComponent(st.me) : ''));
    st.source = src;
    src.addEventListener('state', e => { load(JSON.parse(e.data)); live(true); });
    src.addEventListener('message', e => {
      const c = JSON.parse(e.data);
      st.msgs.set(c.message.ts, c.message);
      render();
    });
    src.addEventListener('view', e => openView(JSON.parse(e.data)));
    src.addEventListener('home', e => { st.home = JSON.parse(e.data).view; if (st.tab === 'home') renderHome(); });
    src.addEventListener('error', () => {
      live(false);
      if (src.readyState === EventSource.CLOSED) {
        // The server refused the stream (an unknown user): start over as the default user.
        status('Could not follow the channel as ' + (st.me || 'the default user') + '.', 'error');
        if (st.me) { st.me = ''; history.replaceState(null, '', location.pathname); connect(); }
      }
    });
  }

  // For tests in the browser.
  window.sandbox = { mrkdwn };
  connect();
})();

// The live feed page: follows the channels named in the address and shows each item,
// newest first, with the connection status.
//
// Query parameters (all optional):
//   channel=a,b           channels to follow (repeatable); default: the server's default
//   transport=auto|sse|longpoll
//   since=N               start after item N; default 0: show what the server still holds
//   resume=1              keep the cursor in sessionStorage, so a reload continues from
//                         there instead of showing the held items again
//   max=N                 items kept on the page (default 500); older ones are dropped
//   shared=1              one connection for all the tabs showing the same channels
//
// Item content is only ever set with textContent: published data is text, never markup.
(function () {
  'use strict';

  const params = new URLSearchParams(location.search);
  const channels = params
    .getAll('channel')
    .flatMap((c) => c.split(','))
    .map((c) => c.trim())
    .filter(Boolean);
  const transport = params.get('transport') || 'auto';
  const since = params.has('since') ? Number(params.get('since')) : 0;
  const maxShown = Number(params.get('max')) > 0 ? Number(params.get('max')) : 500;
  const storageKey = params.get('resume') === '1' ? 'livefeed:cursor:' + (channels.join(',') || 'default') : null;
  const shared = params.get('shared') === '1';

  const statusEl = document.getElementById('status');
  const transportEl = document.getElementById('transport');
  const noticeEl = document.getElementById('notice');
  const emptyEl = document.getElementById('empty');
  const listEl = document.getElementById('items');
  document.getElementById('channels').textContent = channels.length ? channels.join(', ') : 'default';

  const STATUS_TEXT = {
    idle: 'Starting…',
    paused: 'Paused',
    connecting: 'Connecting…',
    live: 'Live',
    reconnecting: 'Reconnecting…',
    error: 'Error',
    closed: 'Closed',
  };
  const TRANSPORT_TEXT = { sse: 'Server-Sent Events', longpoll: 'long-polling' };

  function showStatus(status, detail) {
    let text = STATUS_TEXT[status] || status;
    if (status === 'reconnecting' && detail && detail.retryIn) {
      text = 'Reconnecting in ' + Math.max(1, Math.round(detail.retryIn / 1000)) + ' s…';
    }
    if (status === 'error' && detail && detail.error) text = 'Error: ' + detail.error.message;
    statusEl.dataset.status = status;
    statusEl.textContent = text;
    // With shared=1: whether this tab holds the connection or gets the items from the one that does.
    if (detail && detail.role) statusEl.dataset.role = detail.role;
    if (detail && detail.transport) transportEl.textContent = 'via ' + TRANSPORT_TEXT[detail.transport];
  }

  function formatTime(ms) {
    const d = new Date(ms);
    const sameDay = d.toDateString() === new Date().toDateString();
    return sameDay ? d.toLocaleTimeString() : d.toLocaleString();
  }

  // The text people read: data.text when there is one, else the data itself.
  function split(data) {
    if (typeof data === 'string') return { text: data, rest: null };
    if (data && typeof data === 'object' && !Array.isArray(data) && typeof data.text === 'string') {
      const rest = Object.assign({}, data);
      delete rest.text;
      return { text: data.text, rest: Object.keys(rest).length ? rest : null };
    }
    return { text: null, rest: data };
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  function renderItem(item) {
    const li = el('li', 'item');
    li.dataset.id = String(item.id);
    const head = el('div', 'item-head');
    const time = el('time', 'item-time', formatTime(item.timestamp));
    time.dateTime = new Date(item.timestamp).toISOString();
    head.appendChild(time);
    if (item.type) head.appendChild(el('span', 'item-type', item.type));
    head.appendChild(el('span', 'item-channel', '#' + item.channel));
    li.appendChild(head);
    const parts = split(item.data);
    if (parts.text !== null) li.appendChild(el('div', 'item-text', parts.text));
    if (parts.rest !== null && parts.rest !== undefined) {
      li.appendChild(el('pre', 'item-data', JSON.stringify(parts.rest, null, 2)));
    }
    return li;
  }

  const feed = new LiveFeed({ channels, transport, since, storageKey, shared });
  feed.on('status', showStatus);
  feed.on('item', (item) => {
    emptyEl.hidden = true;
    listEl.insertBefore(renderItem(item), listEl.firstChild);
    while (listEl.childElementCount > maxShown) listEl.removeChild(listEl.lastChild);
  });
  feed.on('truncated', () => {
    noticeEl.textContent =
      'Some items may have been missed (' + new Date().toLocaleTimeString() + '): the server no longer had ' +
      'everything published since the last item shown.';
    noticeEl.hidden = false;
  });
  feed.on('error', (err) => console.warn('livefeed:', err.message));
  // For poking at it from the console.
  window.liveFeed = feed;
  feed.start();
})();

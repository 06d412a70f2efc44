// The admin page from script: posts the form as JSON with the optional token and shows the
// answer inline, so the admin can publish again without leaving the page. Without script
// the same form works as a plain form post.
(function () {
  'use strict';

  const form = document.getElementById('publish');
  const jsonEl = document.getElementById('json');
  const tokenEl = document.getElementById('token');
  const sendEl = document.getElementById('send');
  const resultEl = document.getElementById('result');
  const historyEl = document.getElementById('history');
  document.getElementById('scripted').hidden = false;

  function show(state, text) {
    resultEl.dataset.state = state;
    delete resultEl.dataset.id;
    resultEl.textContent = text;
  }

  // The item as the server would build it from a plain form post: {text} as data.
  function buildBody() {
    const fields = new FormData(form);
    const body = {};
    const type = String(fields.get('type') || '').trim();
    const channel = String(fields.get('channel') || '').trim();
    if (type) body.type = type;
    if (channel) body.channel = channel;
    const raw = jsonEl.value.trim();
    if (raw) {
      try {
        body.data = JSON.parse(raw);
      } catch (e) {
        throw new Error('The raw JSON is not valid JSON: ' + e.message);
      }
    } else {
      body.data = { text: String(fields.get('text') || '') };
    }
    return body;
  }

  function remember(answer, body) {
    const li = document.createElement('li');
    li.className = 'item';
    const head = document.createElement('div');
    head.className = 'item-head';
    head.textContent = '#' + answer.id + ' · ' + answer.channel + ' · ' + new Date(answer.timestamp).toLocaleTimeString();
    const text = document.createElement('div');
    text.className = 'item-text';
    text.textContent = body.data && typeof body.data.text === 'string' ? body.data.text : JSON.stringify(body.data);
    li.append(head, text);
    historyEl.insertBefore(li, historyEl.firstChild);
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    let body;
    try {
      body = buildBody();
    } catch (err) {
      show('error', err.message);
      return;
    }
    const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
    const token = tokenEl.value.trim();
    if (token) headers.Authorization = 'Bearer ' + token;
    sendEl.disabled = true;
    show('pending', 'Publishing…');
    try {
      const res = await fetch(form.getAttribute('action'), { method: 'POST', headers, body: JSON.stringify(body) });
      const text = await res.text();
      let answer = null;
      try {
        answer = JSON.parse(text);
      } catch (e) {
        // Shown raw below: a proxy's error page says more than "invalid JSON".
      }
      if (!res.ok) {
        const why = answer && answer.error ? answer.error : text.slice(0, 300) || res.statusText;
        show('error', 'Error ' + res.status + ': ' + why);
        return;
      }
      if (!answer || !Number.isSafeInteger(answer.id)) {
        show('error', 'Unexpected answer: ' + text.slice(0, 300));
        return;
      }
      show('ok', 'Published item ' + answer.id + ' on channel ' + answer.channel + '.');
      resultEl.dataset.id = String(answer.id);
      remember(answer, body);
    } catch (err) {
      show('error', 'Could not reach the server: ' + err.message);
    } finally {
      sendEl.disabled = false;
    }
  });
})();

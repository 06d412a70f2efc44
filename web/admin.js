// The admin page from script: posts the form as JSON (one item, or a batch of pasted lines)
// with the optional token and shows the answer inline, so the admin can publish again without
// leaving the page. Without script the same form works as a plain form post.
(function () {
  'use strict';

  const form = document.getElementById('publish');
  const jsonEl = document.getElementById('json');
  const batchEl = document.getElementById('batch');
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

  // What Type and Channel say, for every item this form sends.
  function formDefaults(fields) {
    const defaults = {};
    const type = String(fields.get('type') || '').trim();
    const channel = String(fields.get('channel') || '').trim();
    if (type) defaults.type = type;
    if (channel) defaults.channel = channel;
    return defaults;
  }

  // Pasted lines as one batch: each non-empty line a JSON item; the form fills in its gaps.
  function buildBatch(fields) {
    const defaults = formDefaults(fields);
    return batchEl.value.split('\n').map((line, index) => [line.trim(), index + 1])
      .filter(([line]) => line)
      .map(([line, number]) => {
        let item;
        try {
          item = JSON.parse(line);
        } catch (e) {
          throw new Error('Line ' + number + ' is not valid JSON: ' + e.message);
        }
        if (item === null || typeof item !== 'object' || Array.isArray(item)) {
          throw new Error('Line ' + number + ' is not a JSON object like {"data": …}.');
        }
        return Object.assign({}, defaults, item);
      });
  }

  // The item as the server would build it from a plain form post: {text} as data; or, when
  // lines are pasted, the batch of them.
  function buildBody() {
    const fields = new FormData(form);
    if (batchEl.value.trim()) return buildBatch(fields);
    const body = formDefaults(fields);
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
      const answers = Array.isArray(body) ? answer && answer.items : [answer];
      if (!Array.isArray(answers) || !answers.every((a) => a && Number.isSafeInteger(a.id))) {
        show('error', 'Unexpected answer: ' + text.slice(0, 300));
        return;
      }
      const last = answers[answers.length - 1];
      show('ok', answers.length === 1
        ? 'Published item ' + last.id + ' on channel ' + last.channel + '.'
        : 'Published ' + answers.length + ' items, ' + answers[0].id + ' to ' + last.id + '.');
      resultEl.dataset.id = String(last.id);
      answers.forEach((a, i) => remember(a, Array.isArray(body) ? body[i] : body));
    } catch (err) {
      show('error', 'Could not reach the server: ' + err.message);
    } finally {
      sendEl.disabled = false;
    }
  });
})();

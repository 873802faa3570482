// Screen-pops: the ticket of an incoming call, on every agent page. Pages work without this file.
// Everything from the server is inserted as text (textContent), never as HTML.
(function () {
  'use strict';
  if (typeof io !== 'function') return;
  var panel = document.getElementById('pops');
  if (!panel) return;
  var cards = {};
  // The texts in the agent's language (layout.eta puts them in the page).
  var T = {};
  try { T = JSON.parse(document.getElementById('pop-texts').textContent) || {}; } catch (e) { /* English below */ }
  function tr(key, fallback, values) {
    var text = typeof T[key] === 'string' ? T[key] : fallback;
    return text.replace(/\{\{(\w+)\}\}/g, function (m, name) { return values && values[name] !== undefined && values[name] !== null ? String(values[name]) : m; });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function link(href, text) {
    var a = el('a', null, text);
    // Only Hotline's own paths: a pop never links elsewhere.
    a.href = /^\/(?!\/)/.test(href) ? href : '/';
    return a;
  }

  function status(card, text) {
    card.querySelector('.pop-status').textContent = text;
  }

  function notify(pop) {
    if (!('Notification' in window) || Notification.permission !== 'granted') return;
    var title = pop.ticket ? tr('notifyTicket', 'Call: Ticket#{{ttn}}', { ttn: pop.ticket.ttn }) : tr('notifyCaller', 'Call from {{number}}', { number: pop.caller.number || tr('unknownNumber', 'unknown number') });
    var body = pop.ticket ? pop.ticket.title : (pop.customer ? pop.customer.name : '');
    try { new Notification(title, { body: body, tag: 'hotline-call-' + pop.callId }); } catch (e) { /* not allowed here */ }
  }

  function render(pop, state) {
    var card = cards[pop.callId];
    if (!card) {
      card = el('section', 'pop');
      card.setAttribute('data-call', pop.callId);
      cards[pop.callId] = card;
      panel.appendChild(card);
      notify(pop);
    } else {
      card.textContent = '';
    }
    var close = el('button', 'pop-close', '×');
    close.type = 'button';
    close.title = tr('dismiss', 'Dismiss');
    close.setAttribute('aria-label', tr('dismissThis', 'Dismiss this pop'));
    // Remembered by the service: the pop does not come back on the next page, nor in other tabs.
    close.addEventListener('click', function () { socket.emit('pop.dismiss', { callId: pop.callId }); drop(pop.callId); });
    card.appendChild(close);
    dismissAllButton();
    var caller = (pop.caller.name ? pop.caller.name + ' ' : '') + (pop.caller.number || tr('withheld', 'number withheld'));
    card.appendChild(el('h2', 'pop-title', pop.ticket ? 'Ticket#' + pop.ticket.ttn : tr('noTicket', 'Call without ticket number')));
    card.appendChild(el('p', 'pop-status', state));
    card.appendChild(el('p', 'pop-caller', tr('caller', 'Caller: {{caller}}', { caller: caller })));
    if (pop.warning) card.appendChild(el('p', 'pop-warning', pop.warningKey ? tr(pop.warningKey, pop.warning, pop.warningValues) : pop.warning));
    if (pop.ticket) {
      card.appendChild(el('p', 'pop-ticket', pop.ticket.title + ' (' + tr('state.' + pop.ticket.state, pop.ticket.state) + (pop.queue ? ', ' + pop.queue.name : '') + ')'));
      if (pop.customer) card.appendChild(el('p', 'pop-customer', tr('customer', 'Customer: {{name}}', { name: pop.customer.name })));
      var list = el('ul', 'pop-articles');
      pop.lastArticles.forEach(function (a) { list.appendChild(el('li', null, tr('kind.' + a.kind, a.kind) + ': ' + (a.subject ? a.subject + ' — ' : '') + a.excerpt)); });
      card.appendChild(list);
      var open = link(pop.ticket.url, tr('open', 'Open ticket'));
      open.className = 'pop-open';
      card.appendChild(open);
    } else if (pop.lookup) {
      if (pop.lookup.customers.length) card.appendChild(el('p', 'pop-customer', tr('customer', 'Customer: {{name}}', { name: pop.lookup.customers.map(function (c) { return c.name; }).join(', ') })));
      var tickets = el('ul', 'pop-open-tickets');
      pop.lookup.openTickets.forEach(function (t) {
        var li = el('li');
        li.appendChild(link(t.url, 'Ticket#' + t.ttn));
        li.appendChild(document.createTextNode(' ' + t.title + ' (' + tr('state.' + t.state, t.state) + ')'));
        tickets.appendChild(li);
      });
      card.appendChild(tickets);
      var create = link(pop.lookup.newTicketUrl, tr('create', 'Create phone ticket'));
      create.className = 'pop-new-ticket';
      card.appendChild(create);
    }
  }

  function drop(callId) {
    if (cards[callId]) cards[callId].remove();
    delete cards[callId];
    dismissAllButton();
  }

  // "Dismiss all", while there are pops to dismiss.
  var all = null;
  // Room is made beside the page for whatever the panel shows (pops, notices, the live status, the notifications button).
  function room() {
    var shown = Array.prototype.some.call(panel.children, function (c) { return !c.hidden; });
    document.documentElement.classList.toggle('has-pops', shown);
  }

  function dismissAllButton() {
    var open = Object.keys(cards).length + panel.querySelectorAll('.notice-pop').length;
    room();
    if (open && !all) {
      all = el('button', 'pops-dismiss-all', tr('dismissAll', 'Dismiss all pops'));
      all.type = 'button';
      all.addEventListener('click', function () {
        socket.emit('pop.dismissAll');
        Object.keys(cards).forEach(drop);
        Array.prototype.forEach.call(panel.querySelectorAll('.notice-pop'), function (n) { n.remove(); });
        dismissAllButton();
      });
      panel.insertBefore(all, panel.firstChild);
    } else if (!open && all) {
      all.remove();
      all = null;
    }
    room();
  }

  // The live connection, visible: an agent must know when pops cannot arrive.
  var live = document.getElementById('live-status');
  var everConnected = false;
  var restoredTimer = null;
  function liveStatus(text, ok) {
    if (!live) return;
    clearTimeout(restoredTimer);
    live.textContent = text;
    live.className = ok ? 'ok' : '';
    live.hidden = false;
    room();
    if (ok) restoredTimer = setTimeout(function () { live.hidden = true; room(); }, 4000);
  }

  var socket = io({ transports: ['websocket', 'polling'] });
  socket.on('connect', function () {
    document.documentElement.setAttribute('data-live', 'on');
    if (everConnected) liveStatus(tr('restored', 'Live updates restored: call pops arrive again.'), true);
    everConnected = true;
  });
  var ended = false;
  socket.on('access.ended', function (e) {
    ended = true;
    liveStatus(tr('stopped', 'Live updates stopped: your session has ended (logged out, password changed, deactivated or token revoked). Reload the page to log in again.'), false);
  });
  socket.on('disconnect', function (reason) {
    document.documentElement.setAttribute('data-live', 'off');
    if (ended) return;
    liveStatus(tr('lost', 'Live updates lost: call pops cannot arrive. Reconnecting…'), false);
    // A disconnect the server asked for is not retried by socket.io itself; a restarting
    // server, or one that shed this connection, is worth asking again.
    if (reason === 'io server disconnect') setTimeout(function () { socket.connect(); }, 1000);
  });
  socket.on('connect_error', function (error) {
    if (error && /unauthorized/.test(error.message)) liveStatus(tr('stopped', 'Live updates stopped: your session has ended (logged out, password changed, deactivated or token revoked). Reload the page to log in again.'), false);
    else if (everConnected) liveStatus(tr('lost', 'Live updates lost: call pops cannot arrive. Reconnecting…'), false);
  });
  socket.on('call.incoming', function (pop, ack) { render(pop, tr('incoming', 'Incoming call — your phone rings next')); if (typeof ack === 'function') ack('shown'); });
  socket.on('call.ringing', function (pop) {
    if (pop.update) { if (cards[pop.callId]) status(cards[pop.callId], tr('ringing', 'Ringing')); return; }
    render(pop, tr('ringing', 'Ringing'));
  });
  socket.on('call.answered', function (pop) { render(pop, tr('answered', 'Answered — you are talking')); });
  socket.on('call.withdrawn', function (e) { if (cards[e.callId]) { status(cards[e.callId], tr('withdrawn', 'Withdrawn: {{reason}}', { reason: e.code ? tr('withdrawnWhy.' + e.code, e.reason, e) : e.reason })); cards[e.callId].classList.add('done'); } });
  socket.on('call.ended', function (e) { if (cards[e.callId]) { status(cards[e.callId], tr('ended', 'Call ended')); cards[e.callId].classList.add('done'); } });
  // Dismissed in another tab.
  socket.on('pop.dismissed', function (e) { drop(e.callId); });

  // Notices (a ticket given to you, a customer's reply, a reminder, a new ticket in a queue you watch):
  // a small card with its link, and the count in the menu.
  socket.on('notice', function (n) {
    var card = el('section', 'pop notice-pop');
    card.setAttribute('data-notice', n.id);
    var close = el('button', 'pop-close', '×');
    close.type = 'button';
    close.title = tr('dismiss', 'Dismiss');
    close.addEventListener('click', function () { card.remove(); dismissAllButton(); });
    card.appendChild(close);
    card.appendChild(el('p', 'pop-status', tr('notice', 'Notice')));
    var text = el('p');
    text.appendChild(link(n.url, n.text));
    card.appendChild(text);
    panel.appendChild(card);
    dismissAllButton();
    var menu = document.getElementById('notices-link');
    if (menu) menu.textContent = tr('notices', 'Notices') + (n.unseen ? ' (' + n.unseen + ' ' + tr('new', 'new') + ')' : '');
  });

  // Offered only where it can work: a browser with notifications that has not been asked yet (the page itself has no such button).
  if ('Notification' in window && Notification.permission === 'default') {
    var ask = el('button', 'enable-notifications', tr('desktop', 'Desktop notifications for calls'));
    ask.type = 'button';
    ask.addEventListener('click', function () { Notification.requestPermission().then(function () { ask.remove(); room(); }); });
    panel.appendChild(ask);
    room();
  }
})();

// What the pages do better with JavaScript; they work without it. Attaching a file to a reply
// reloads the page: what was typed in the reply so far is kept across that reload.
(function () {
  'use strict';
  var reply = document.querySelector('form.reply');
  var attach = document.querySelector('form.attach');
  if (!reply || !attach || !window.sessionStorage) return;
  var key = 'hotline-reply:' + reply.getAttribute('action');
  var fields = ['to', 'cc', 'bcc', 'subject', 'text'];
  attach.addEventListener('submit', function () {
    var kept = {};
    fields.forEach(function (name) { if (reply.elements[name]) kept[name] = reply.elements[name].value; });
    try { sessionStorage.setItem(key, JSON.stringify(kept)); } catch (e) { /* storage full or off: the page still works */ }
  });
  var stored = sessionStorage.getItem(key);
  sessionStorage.removeItem(key);
  if (!stored || !/[?&]done=file-(attached|removed)/.test(location.search)) return;
  try {
    var kept = JSON.parse(stored);
    fields.forEach(function (name) { if (reply.elements[name] && typeof kept[name] === 'string') reply.elements[name].value = kept[name]; });
  } catch (e) { /* not ours */ }
})();

// Countdowns follow the server's deadline: the page learns the offset between the
// server's clock and this device's once, at load, and every timer uses it.
(function () {
  "use strict";
  var serverNow = Number(document.body.dataset.serverNow || 0);
  var offset = serverNow ? serverNow - Date.now() : 0;

  function tick() {
    var timers = document.querySelectorAll(".countdown[data-closes-at]");
    for (var i = 0; i < timers.length; i++) {
      var el = timers[i];
      var left = Math.max(0, Number(el.dataset.closesAt) - (Date.now() + offset));
      var seconds = Math.ceil(left / 1000);
      var value = el.querySelector(".countdown-value");
      if (value && value.textContent !== String(seconds)) value.textContent = String(seconds);
      if (!el.dataset.total) el.dataset.total = String(Math.max(left, 1));
      var bar = el.querySelector(".countdown-bar span");
      if (bar) bar.style.width = (100 * left / Number(el.dataset.total)).toFixed(1) + "%";
      el.classList.toggle("is-low", seconds <= 5);
    }
  }
  // Answer bars: sized here from data-percent, as the Content-Security-Policy refuses
  // inline style attributes (CSSOM writes like this one are allowed).
  function bars() {
    var all = document.querySelectorAll(".bar[data-percent]");
    for (var i = 0; i < all.length; i++) all[i].style.width = Number(all[i].dataset.percent) + "%";
  }
  bars();
  document.addEventListener("htmx:wsAfterMessage", bars);

  setInterval(tick, 200);
  document.addEventListener("htmx:wsAfterMessage", tick);

  // One tap is one answer: grey the choices out at once; the server decides.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button.choice");
    if (!button) return;
    button.classList.add("is-picked");
    var group = button.parentElement.querySelectorAll("button.choice");
    setTimeout(function () { for (var i = 0; i < group.length; i++) group[i].disabled = true; }, 0);
  });

  // Word order: a tapped word moves to the sentence, tapped again it goes back (buttons,
  // so Tab and Enter or Space play it too). The sentence is sent as a list of words.
  document.addEventListener("click", function (event) {
    var tile = event.target.closest && event.target.closest(".order-answer button.tile");
    if (!tile) return;
    var form = tile.closest("form");
    var sentence = form.querySelector(".sentence");
    var pool = form.querySelector(".tiles");
    (tile.parentElement === sentence ? pool : sentence).appendChild(tile);
    tile.focus();
    form.querySelector("button[type=submit]").disabled = pool.children.length > 0;
  });
  document.addEventListener("htmx:wsConfigSend", function (event) {
    var form = event.target.closest && event.target.closest(".order-answer");
    if (!form) return;
    event.detail.parameters.words = Array.prototype.map.call(
      form.querySelectorAll(".sentence .tile"), function (tile) { return tile.dataset.word; });
  });

  // Your own row on every board (the page knows your nickname; nicknames are unique).
  function markMe() {
    var me = document.querySelector("#me .me-name");
    if (!me) return;
    var rows = document.querySelectorAll("#leaderboard li");
    for (var i = 0; i < rows.length; i++) {
      var name = rows[i].querySelector(".name");
      rows[i].classList.toggle("is-me", !!name && name.textContent === me.textContent);
    }
  }
  markMe();
  document.addEventListener("htmx:wsAfterMessage", markMe);

  // Rank changes slide: each row starts where its player was on the last board and moves
  // to its new place (a transform only: cheap). Not for those who ask for less motion.
  var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  var before = {};
  function rowsByName() {
    var rows = document.querySelectorAll("#leaderboard li"), found = {};
    for (var i = 0; i < rows.length; i++) {
      var name = rows[i].querySelector(".name");
      if (name) found[name.textContent] = rows[i];
    }
    return found;
  }
  document.addEventListener("htmx:wsBeforeMessage", function () {
    if (still) return;
    var rows = rowsByName();
    before = {};
    for (var name in rows) before[name] = rows[name].getBoundingClientRect().top;
  });
  document.addEventListener("htmx:wsAfterMessage", function () {
    if (still) return;
    var rows = rowsByName();
    for (var name in rows) {
      if (!(name in before)) continue;
      var dy = before[name] - rows[name].getBoundingClientRect().top;
      if (!dy) continue;
      rows[name].style.transition = "none";
      rows[name].style.transform = "translateY(" + dy + "px)";
      rows[name].getBoundingClientRect();
      rows[name].style.transition = "";
      rows[name].style.transform = "";
    }
  });

  function status(text) {
    var el = document.getElementById("connection");
    if (el) el.textContent = text;
  }
  document.addEventListener("htmx:wsOpen", function () { status(""); document.body.classList.remove("is-offline"); });
  document.addEventListener("htmx:wsClose", function () { status("Reconnecting…"); document.body.classList.add("is-offline"); });
})();

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

  function status(text) {
    var el = document.getElementById("connection");
    if (el) el.textContent = text;
  }
  document.addEventListener("htmx:wsOpen", function () { status(""); document.body.classList.remove("is-offline"); });
  document.addEventListener("htmx:wsClose", function () { status("Reconnecting…"); document.body.classList.add("is-offline"); });
})();

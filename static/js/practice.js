// Listening items read their prompt aloud with the phone's own speech synthesis, in the
// quiz's accent where the phone has such a voice; where speech is unavailable the text
// shows instead (it is hidden only when a voice can read it).
(function () {
  "use strict";
  var card = document.querySelector("[data-accent]");
  var lang = card ? card.dataset.accent : "en-GB";
  var canSpeak = "speechSynthesis" in window && "SpeechSynthesisUtterance" in window;
  if (canSpeak) document.body.classList.add("can-speak");

  function speak(text) {
    if (!canSpeak) return;
    window.speechSynthesis.cancel();
    var utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = lang;
    utterance.rate = 0.9;
    var voice = window.speechSynthesis.getVoices().filter(function (v) { return v.lang === lang; })[0];
    if (voice) utterance.voice = voice;
    window.speechSynthesis.speak(utterance);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button.speak");
    if (button) speak(button.dataset.speak);
  });
  document.addEventListener("htmx:afterSwap", function () {
    var first = document.querySelector("#practice button.speak[data-autoplay]");
    if (first) speak(first.dataset.speak);
  });
})();

// Listening items read their prompt aloud with the phone's own speech synthesis, in the
// quiz's accent where the phone has such a voice; where speech is unavailable the text
// shows instead (it is hidden only when a voice can read it). A prompt plays once by
// itself when it arrives (live quiz and practice), and again on its button.
(function () {
  "use strict";
  var canSpeak = "speechSynthesis" in window && "SpeechSynthesisUtterance" in window;
  if (canSpeak) document.body.classList.add("can-speak");
  var played = {};

  function speak(button) {
    if (!canSpeak) return;
    var holder = button.closest("[data-accent]");
    var lang = (holder && holder.dataset.accent) || "en-GB";
    window.speechSynthesis.cancel();
    var utterance = new SpeechSynthesisUtterance(button.dataset.speak);
    utterance.lang = lang;
    utterance.rate = 0.9;
    var voice = window.speechSynthesis.getVoices().filter(function (v) { return v.lang === lang; })[0];
    if (voice) utterance.voice = voice;
    window.speechSynthesis.speak(utterance);
  }

  // A live question plays once however often its stage is redrawn; a practice item
  // plays each time it comes back.
  function autoplay() {
    var first = document.querySelector("#stage button.speak[data-autoplay]");
    if (!first || played[first.dataset.autoplay + first.dataset.speak]) return;
    played[first.dataset.autoplay + first.dataset.speak] = true;
    speak(first);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button.speak");
    if (button) speak(button);
  });
  document.addEventListener("htmx:afterSwap", function () {
    var item = document.querySelector("#practice button.speak[data-autoplay]");
    if (item) speak(item);
  });
  document.addEventListener("htmx:wsAfterMessage", autoplay);
  autoplay();
})();

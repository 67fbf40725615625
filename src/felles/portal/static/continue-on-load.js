// After a logout: once the page (and so every front-channel logout frame) has loaded, go on to the link #continue.
window.addEventListener("load", function () {
  "use strict";
  window.location.replace(document.getElementById("continue").href);
});

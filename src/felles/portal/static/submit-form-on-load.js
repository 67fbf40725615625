// response_mode=form_post: the page's one form posts itself to the client as soon as the page has loaded.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  document.forms[0].submit();
});

// OAuth form_post response mode: post the authorization response to the app. The page's button does the same without script.
document.getElementById("form-post")?.submit();

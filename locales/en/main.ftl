# Texts for residents, in English.

greeting = Hello! This is the chat of the Subdistrict Administrative Organization. Ask about the measures of its ITA improvement plan, send a suggestion or a complaint, report corruption, or follow a case you sent. Pick from the menu or type your question.
menu-prompt = Pick what you need from the menu.
cancelled = Cancelled: nothing was recorded. Pick from the menu to start again.
error-internal = Sorry, something went wrong on our side. Please try again.
button-expired = That button has expired. Please pick from the menu again.
media-outside-flow = Thank you. To send a photo or a location with a case, start with "Complain" or "Suggest" in the menu first.

menu-ask = Ask about measures
menu-suggest = Suggest
menu-complain = Complain
menu-corruption = Report corruption
menu-follow = Follow a case
menu-language = Language/ภาษา

button-cancel = Cancel
button-skip = Skip
button-done = Done
button-continue = Continue
button-confirm = Confirm and send
button-menu = Menu
button-more-photo = Another photo
button-share-location = Share location
button-share-photo = Send a photo
button-anonymous = Stay anonymous
button-named = Give my identity
button-add-info = Add information
button-withdraw = Withdraw
button-withdraw-yes = Yes, withdraw
button-staff-question = Ask staff

ask-prompt = Type your question, for example "What was the OIT score?" or "Who is responsible for the procurement plan?"
language-prompt = เลือกภาษา / Choose a language
language-set = English it is.

kb-not-found = Sorry, I found nothing about that in the ITA improvement plan. Try other words, or tap "Ask staff" to pass your question to the office.
kb-more = Ask me anything else.
kb-label-weakness = Weakness found
kb-label-measures = Measures
kb-label-guidelines = Guidelines
kb-label-responsible = Responsible
kb-label-status = Status
kb-status-done = ✓ done
kb-status-not-done = ✗ not done yet
kb-scores-title = ITA 2020 (B.E. 2563) scores (lowest indicator)
kb-score-line = { $assessment }: { $score } ({ $indicator })
kb-division-intro = The { $division } is responsible for { $count } item(s) of the improvement plan:
kb-overview-title = Progress of the ITA improvement plan
kb-overview-intro = Status of every item in the plan:

kind-suggestion = Suggestion
kind-complaint = Complaint
kind-corruption = Corruption complaint
kind-question = Question to staff

status-received = received
status-accepted = accepted
status-in_progress = in progress
status-resolved = resolved
status-rejected = rejected
status-withdrawn = withdrawn

corruption-notice-web = Before you report corruption: your report goes to the integrity officer only, never to the division it concerns, and you may stay anonymous: you will then get a 16-digit receipt to follow it.
corruption-notice-platform = Before you report corruption: this chat app knows who you are, even if you choose to stay anonymous towards the office. For more privacy, use the web chat on the office's site at { $url }. Your report goes to the integrity officer only, never to the division it concerns.
category-prompt-suggestion = What is your suggestion about?
category-prompt-complaint = What is your complaint about?
category-prompt-corruption = What is the misconduct about?
category-prompt-question = What is your question about?
category-invalid = Please pick a category from the buttons below.
description-prompt-suggestion = Please type your suggestion (at most 5,000 characters).
description-prompt-complaint = Please describe the problem: what happened, where and when (at most 5,000 characters).
description-prompt-corruption = Please describe what you saw: who, what, where and when (at most 5,000 characters).
description-invalid = Please type the details as text.
description-empty = I received no details. Please describe it again.
description-too-long = Your message has { $count } characters, more than the { $max } I can take. Please shorten it and send it again.
location-prompt = Would you like to add a place? Share a location, type the name of the place, or skip.
photo-prompt = Do you have a photo (up to 3)? Send it, or skip.
photo-received = Photo received ({ $count }). Send another or tap "Done".
photo-expected = I am waiting for a photo here. Send one, or skip.
anonymity-prompt = Would you like to give your identity? If you stay anonymous, your chat account is not kept with this report, and you get a 16-digit receipt to follow it instead.
contact-prompt = Would you like to leave a phone number or another way to reach you (optional)? Type it, or skip.

summary-title = Please check before sending
summary-none = -
summary-anonymous = anonymous
summary-named = identified
summary-confirm-hint = If all is right, tap "Confirm and send", otherwise "Cancel".
label-kind = Kind
label-category = Category
label-description = Details
label-location = Place
label-photos = Photos
label-identity = Reporter
label-contact = Contact
label-division = Responsible
label-status = Status
label-timeline = Timeline
label-forwarded-to = Forwarded to
label-filed-at = Received on

filed-title = Received: case { $code }
filed-follow-hint = Follow it by sending { $code } in this chat.
filed-anonymous = Received, and forwarded to the { $division } on { $at }. Your receipt is { $receipt }. Keep it secret and safe: it is the only way to follow this report, and the office cannot issue a new one.
filed-anonymous-redelivered = This report was already received. Its receipt can be shown only once, when the report is filed.

follow-prompt = Type the case code (for example CP-2569-0001) or your 16-digit receipt.
receipt-too-many-tries = Too many receipt attempts. Please wait 15 minutes and try again.
too-fast = You are sending messages too fast. What you send in the next minute will not be read: please wait a minute, then send your last message again.
code-invalid = That is not a case code. Please type a code such as CP-2569-0001 or a 16-digit receipt.
case-not-found = Case not found: please check the number (only the person who sent a case can see it).
case-closed = This case is closed: information can no longer be added and it cannot be withdrawn.
anonymous-case = Anonymous report
timeline-filed = received
timeline-status = status changed to "{ $status }"
timeline-staff-answer = staff answered: { $text }
timeline-resident-info = you added: { $text }
timeline-withdrawn = you withdrew it
timeline-forwarded = forwarded to { $division }
timeline-co-responsible = { $division } works on it too
timeline-reopened = you said it was not fixed: reopened
timeline-rated = you rated it { $stars } out of 5
timeline-after-photo = staff attached a photo of the result
add-info-prompt = Type the information you would like to add.
add-info-done = Added to { $code } and passed on to the staff.
withdraw-confirm = Do you really want to withdraw this case? It cannot be reopened.
withdraw-done = { $code } is withdrawn; the staff have been told.

web-privacy-note = No login needed. Corruption reports reach the integrity officer only, and may be anonymous.

photo-rejected = Sorry, I cannot take this photo (it must be a JPEG or PNG image of at most 5 MB).
unsupported-message = Sorry, for now I can read text, photos and locations only. Pick from the menu or type a message.
group-hint = Hello! In this group I answer only when mentioned. To ask a question or send a complaint, please chat with the office's account one to one.
staff-new-case = New case { $code }
staff-info-added = Information added to { $code }
staff-withdrawn = Withdrawn: { $code }

menu-link = Link another app
link-code = Your link code is { $code } (valid once, for 10 minutes). In your other chat app, send "link { $code }": you can then follow your cases from both.
link-done = Linked: you can follow your cases from both apps.
link-bad-code = That code does not work (wrong, used or expired). Ask for a new one with "Link another app" in the first app.
link-same-chat = Send this code from your other chat app, not the one that made it.

staff-updated = Update on { $code }

enrol-done = Enrolled: this chat account now acts as { $role }.
enrol-bad-code = That enrolment code does not work (wrong, used or expired). Please ask the administrator for a new one.
role-resident = a resident
role-village-head = the head of village { $village }
role-staff = staff of the { $division }
role-integrity = the integrity officer
role-admin = an administrator
staff-queue-title = Open cases ({ $count })
staff-queue-empty = Nothing waiting.
staff-not-visible = No such case in your queue.
staff-answer-sent = Your answer to { $code } was sent to the resident.
staff-answer-kept = Your answer is on { $code }; the anonymous reporter sees it when following with the receipt.
staff-status-set = { $code } is now "{ $status }".
staff-status-unknown = Unknown status. Use: accepted, in_progress, resolved, rejected.
staff-reporter-hidden = hidden (seen by the integrity officer only)
resident-staff-answer = Staff answered on { $code }: { $text }
resident-status-changed = { $code } is now "{ $status }".

staff-taken = { $code } is yours now.
staff-closed = { $code } is closed; the resident has been told. You may send a photo of the result now (optional).

# Staff: forwarding, notes, cards; residents confirming a resolution
staff-forwarded-here = Forwarded to your division: { $code }
staff-co-responsible = Your division is asked to help with { $code }
staff-rated = The resident rated { $code }
staff-reopened = The resident says it is not fixed: { $code } is open again
staff-rating = Satisfaction: { $stars } out of 5
staff-forwarded = { $code } forwarded to { $division }
staff-co-added = { $division } now works on { $code } too
staff-note-kept = Internal note kept on { $code } (the resident does not see it)
staff-division-unknown = Unknown division: use its name, e.g. Finance Division, or its id, e.g. finance
button-staff-open = Open
button-staff-take = Take
button-not-fixed = Not fixed
resident-resolved-rate = { $code } has been resolved. How satisfied are you? Tap 1–5 stars, or "Not fixed" if the problem remains
rated-thanks = Thank you for your rating: it helps the office improve
reopened = { $code } is open again and staff have been told
kb-progress-updated = updated { $date }
kb-label-progress = Progress
staff-after-photo = Photo of the result attached to { $code }

# Subscriptions and updates
menu-subscribe = Get updates
topic-office = Office notices
topic-village = Village news
topic-progress = ITA measures' progress
subscribe-village-prompt = Which village (หมู่) do you live in? Choose it to get its head's news (send "stop" any time to stop)
subscribe-no-village = No village
subscribe-topics-prompt = Choose what to receive (tap to switch on or off), then "Save" · Now: { $summary }
subscribe-save = Save
subscribe-done = Saved: you will get { $summary } · Send "stop" any time to stop
subscribe-stopped = Updates stopped: nothing more will be sent to you
subscribe-none = You are not getting updates. Tap "Get updates" if you want them
subscribe-needs-chat-app = Updates need the office's LINE, Facebook Messenger or Telegram: the web site cannot send you messages
update-villages-all = To every village (or tap to choose some), then "Next"
update-villages-some = To villages { $villages }, then "Next"
update-next = Next
update-text-prompt = Type the update (at most { $max } characters)
update-text-too-long = The text must not be empty nor longer than { $max } characters: type it again
update-attachment-prompt = Send a photo or a location with it, or tap "Skip"
update-confirm = The update above will reach { $count } people. Send it?
update-send = Send
update-scheduled = Update recorded: it goes out in { $minutes } minutes
update-limit = You have sent today's number of updates: you can send again tomorrow
update-not-allowed = You may no longer send this update

# Understanding what residents type (intents) and direct answers from the plan
thanks-reply = You're welcome. Anything else? Pick from the menu or just type.
help-reply = Just tell me the problem, e.g. "street light broken near the temple", and it becomes a complaint; ask about the ITA plan, e.g. "who handles the budget?"; or type a case code to follow it. Or pick from the menu.
not-sure = Sorry, I'm not sure what you need. Pick below, or send your message to the staff.
corruption-anonymous-yes = Yes: you can report corruption anonymously. Your chat account is not kept with the report; you get a receipt to follow it instead.
intake-description-taken = Noted: “{ $text }”
category-guess = This looks like “{ $category }”. Tap to confirm, or pick another category.
kb-quote = “{ $text }”
kb-direct-plan-says = The plan says: { $text }
kb-direct-responsible = Responsible: { $divisions } ({ $status })
kb-direct-status = { $status } under the 2021 (B.E. 2564) plan · responsible: { $divisions }
kb-direct-channels = Yes: under the plan the office has { $channels } for residents to follow its news and make suggestions.
kb-direct-no-channels = The plan names no channel for this.
kb-direct-measures = Measures: { $measures }
kb-direct-footer = Responsible: { $divisions } · { $status }
kb-direct-meaning = { $acronym } is the { $name }
kb-meaning-title = What is { $terms }?
kb-channel-website = a website
kb-channel-facebook = a Facebook page
kb-channel-line = a LINE account
kb-button-whole = See all
kb-button-item = See { $item }
kb-word-responsible = responsible

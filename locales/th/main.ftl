# ข้อความถึงประชาชน (ภาษาไทย เป็นภาษาหลัก)

greeting = สวัสดีค่ะ ที่นี่ช่องทางสื่อสารขององค์การบริหารส่วนตำบล ถามเรื่องมาตรการตามแผนปรับปรุง ITA ส่งข้อเสนอแนะ ร้องเรียน แจ้งเบาะแสการทุจริต หรือติดตามเรื่องที่ส่งไว้ได้ค่ะ เลือกจากเมนู หรือพิมพ์คำถามได้เลย
menu-prompt = เลือกสิ่งที่ต้องการจากเมนูได้เลยค่ะ
cancelled = ยกเลิกแล้วค่ะ ไม่มีการบันทึกเรื่องนี้ เลือกเมนูเพื่อเริ่มใหม่ได้ค่ะ
error-internal = ขออภัยค่ะ ระบบขัดข้องชั่วคราว กรุณาลองใหม่อีกครั้ง
button-expired = ปุ่มนี้หมดอายุแล้วค่ะ เลือกจากเมนูใหม่ได้เลย
media-outside-flow = ขอบคุณค่ะ หากต้องการส่งรูปหรือตำแหน่งประกอบเรื่อง กรุณาเริ่มจากเมนู "ร้องเรียน" หรือ "เสนอแนะ" ก่อนค่ะ

menu-ask = ถามเรื่องมาตรการ
menu-suggest = เสนอแนะ
menu-complain = ร้องเรียน
menu-corruption = แจ้งเบาะแสทุจริต
menu-follow = ติดตามเรื่อง
menu-language = Language/ภาษา

button-cancel = ยกเลิก
button-skip = ข้าม
button-done = เสร็จแล้ว
button-continue = ดำเนินการต่อ
button-confirm = ยืนยันส่งเรื่อง
button-menu = เมนู
button-more-photo = ส่งรูปเพิ่ม
button-share-location = ส่งตำแหน่ง
button-share-photo = ส่งรูปภาพ
button-anonymous = ไม่ระบุตัวตน
button-named = ระบุตัวตน
button-add-info = เพิ่มข้อมูล
button-withdraw = ถอนเรื่อง
button-withdraw-yes = ยืนยันถอนเรื่อง
button-staff-question = ส่งถึงเจ้าหน้าที่

ask-prompt = พิมพ์คำถามได้เลยค่ะ เช่น "มาตรการป้องกันการทุจริตมีอะไรบ้าง" หรือ "กองคลังรับผิดชอบเรื่องอะไร"
language-prompt = เลือกภาษา / Choose a language
language-set = ตั้งค่าเป็นภาษาไทยแล้วค่ะ

kb-not-found = ขออภัยค่ะ ไม่พบเรื่องนี้ในแผนปรับปรุงการประเมิน ITA ลองถามด้วยคำอื่น หรือกด "ส่งถึงเจ้าหน้าที่" เพื่อส่งคำถามนี้ให้เจ้าหน้าที่ตอบค่ะ
kb-more = ถามต่อได้เลยค่ะ
kb-label-weakness = จุดอ่อนที่พบ
kb-label-measures = มาตรการ
kb-label-guidelines = แนวทางการดำเนินการ
kb-label-responsible = ผู้รับผิดชอบ
kb-label-status = สถานะ
kb-status-done = ✓ ดำเนินการแล้ว
kb-status-not-done = ✗ ยังไม่ดำเนินการ
kb-scores-title = คะแนน ITA ปี ๒๕๖๓ (ตัวชี้วัดที่ต่ำสุด)
kb-score-line = { $assessment }: { $score } คะแนน (ตัวชี้วัด{ $indicator })
kb-division-intro = { $division } รับผิดชอบ { $count } เรื่องตามแผนปรับปรุง:
kb-overview-title = ความคืบหน้าตามแผนปรับปรุง ITA
kb-overview-intro = สถานะของทุกเรื่องในแผนปรับปรุง:

kind-suggestion = ข้อเสนอแนะ
kind-complaint = เรื่องร้องเรียน
kind-corruption = เรื่องร้องเรียนการทุจริต
kind-question = คำถามถึงเจ้าหน้าที่

status-received = รับเรื่องแล้ว
status-accepted = รับพิจารณาแล้ว
status-in_progress = กำลังดำเนินการ
status-resolved = ดำเนินการเสร็จแล้ว
status-rejected = ไม่รับพิจารณา
status-withdrawn = ถอนเรื่องแล้ว

corruption-notice-web = ก่อนแจ้งเบาะแสการทุจริต: เรื่องนี้จะส่งถึงเจ้าหน้าที่ผู้รับผิดชอบเรื่องร้องเรียนการทุจริตเท่านั้น ไม่ส่งถึงกองที่ถูกร้องเรียน และท่านเลือกไม่ระบุตัวตนได้ โดยจะได้รับเลขรับเรื่อง ๑๖ หลักไว้ติดตามเรื่อง
corruption-notice-platform = ก่อนแจ้งเบาะแสการทุจริต: แอปแชตนี้รู้ว่าท่านเป็นใคร แม้ท่านจะเลือกไม่ระบุตัวตนกับ อบต. ก็ตาม หากต้องการความเป็นส่วนตัวมากกว่า กรุณาแจ้งผ่านแชตบนเว็บไซต์ของ อบต. ที่ { $url } เรื่องนี้จะส่งถึงเจ้าหน้าที่ผู้รับผิดชอบเรื่องร้องเรียนการทุจริตเท่านั้น ไม่ส่งถึงกองที่ถูกร้องเรียน
category-prompt-suggestion = ข้อเสนอแนะของท่านเกี่ยวกับเรื่องใดคะ
category-prompt-complaint = เรื่องที่ต้องการร้องเรียนเกี่ยวกับเรื่องใดคะ
category-prompt-corruption = เบาะแสการทุจริตเกี่ยวกับเรื่องใดคะ
category-prompt-question = คำถามเกี่ยวกับเรื่องใดคะ
category-invalid = กรุณาเลือกหมวดจากปุ่มด้านล่างค่ะ
description-prompt-suggestion = พิมพ์ข้อเสนอแนะของท่านได้เลยค่ะ (ไม่เกิน ๕,๐๐๐ ตัวอักษร)
description-prompt-complaint = เล่ารายละเอียดเรื่องที่ร้องเรียนได้เลยค่ะ เกิดอะไร ที่ไหน เมื่อไร (ไม่เกิน ๕,๐๐๐ ตัวอักษร)
description-prompt-corruption = เล่ารายละเอียดเบาะแสได้เลยค่ะ ใคร ทำอะไร ที่ไหน เมื่อไร (ไม่เกิน ๕,๐๐๐ ตัวอักษร)
description-invalid = กรุณาพิมพ์รายละเอียดเป็นข้อความค่ะ
description-empty = ยังไม่ได้รับรายละเอียดค่ะ กรุณาพิมพ์เล่าเรื่องอีกครั้ง
description-too-long = ข้อความยาว { $count } ตัวอักษร เกินกว่าที่รับได้ ({ $max } ตัวอักษร) กรุณาสรุปให้สั้นลงแล้วส่งอีกครั้งค่ะ
location-prompt = ต้องการระบุสถานที่ไหมคะ ส่งตำแหน่ง พิมพ์ชื่อสถานที่ หรือกดข้าม
photo-prompt = มีรูปภาพประกอบไหมคะ (ไม่เกิน ๓ รูป) ส่งรูป หรือกดข้าม
photo-received = ได้รับรูปแล้ว { $count } รูป ส่งเพิ่มได้ หรือกด "เสร็จแล้ว"
photo-expected = ขั้นนี้รอรับรูปภาพค่ะ ส่งรูป หรือกดข้าม
anonymity-prompt = ต้องการระบุตัวตนไหมคะ หากไม่ระบุตัวตน ระบบจะไม่เก็บบัญชีแชตของท่านไว้กับเรื่องนี้ และท่านจะได้รับเลขรับเรื่อง ๑๖ หลักไว้ติดตามเรื่องแทน
contact-prompt = ฝากเบอร์โทรหรือช่องทางติดต่อกลับไหมคะ (ไม่บังคับ) พิมพ์มาได้เลย หรือกดข้าม

summary-title = ตรวจสอบก่อนส่งเรื่อง
summary-none = -
summary-anonymous = ไม่ระบุตัวตน
summary-named = ระบุตัวตน
summary-confirm-hint = ถูกต้องแล้วกด "ยืนยันส่งเรื่อง" หรือ "ยกเลิก"
label-kind = ประเภท
label-category = หมวด
label-description = รายละเอียด
label-location = สถานที่
label-photos = รูปภาพ
label-identity = ตัวตนผู้แจ้ง
label-contact = ช่องทางติดต่อ
label-division = หน่วยงานที่รับผิดชอบ
label-status = สถานะ
label-timeline = ความเคลื่อนไหว
label-forwarded-to = ส่งต่อถึง
label-filed-at = วันที่รับเรื่อง

filed-title = รับเรื่องแล้ว เลขที่ { $code }
filed-follow-hint = ติดตามเรื่องได้โดยพิมพ์เลขที่ { $code } ในแชตนี้
filed-anonymous = รับเรื่องแล้วค่ะ ส่งถึง{ $division } เมื่อ { $at } เลขรับเรื่องของท่านคือ { $receipt } กรุณาจดเก็บไว้เป็นความลับ เลขนี้เป็นทางเดียวที่จะติดตามเรื่อง และ อบต. ไม่สามารถออกเลขใหม่ให้ได้
filed-anonymous-redelivered = รับเรื่องนี้ไว้แล้วค่ะ เลขรับเรื่องแสดงได้เพียงครั้งเดียวตอนรับเรื่อง

follow-prompt = พิมพ์เลขที่เรื่อง (เช่น CP-2569-0001) หรือเลขรับเรื่อง ๑๖ หลักได้เลยค่ะ
receipt-too-many-tries = ลองเลขรับเรื่องหลายครั้งเกินไปค่ะ กรุณารอ ๑๕ นาทีแล้วลองใหม่
too-fast = ท่านส่งข้อความถี่เกินไปค่ะ ข้อความที่ส่งมาหลังจากนี้ในนาทีนี้จะยังไม่ได้รับการอ่าน กรุณารอ ๑ นาทีแล้วส่งข้อความล่าสุดอีกครั้ง
code-invalid = ไม่ใช่รูปแบบเลขที่เรื่องค่ะ กรุณาพิมพ์เลขที่เรื่อง เช่น CP-2569-0001 หรือเลขรับเรื่อง ๑๖ หลัก
case-not-found = ไม่พบเรื่องตามเลขนี้ค่ะ กรุณาตรวจสอบเลขอีกครั้ง (แสดงได้เฉพาะเรื่องที่ท่านเป็นผู้แจ้ง)
case-closed = เรื่องนี้ปิดแล้ว จึงเพิ่มข้อมูลหรือถอนเรื่องไม่ได้ค่ะ
anonymous-case = เรื่องที่แจ้งโดยไม่ระบุตัวตน
timeline-filed = รับเรื่อง
timeline-status = เปลี่ยนสถานะเป็น "{ $status }"
timeline-staff-answer = เจ้าหน้าที่ตอบ: { $text }
timeline-resident-info = ท่านเพิ่มข้อมูล: { $text }
timeline-withdrawn = ท่านถอนเรื่อง
timeline-forwarded = ส่งต่อให้ { $division }
timeline-co-responsible = { $division } ร่วมดำเนินการ
timeline-reopened = ท่านแจ้งว่ายังไม่ได้รับการแก้ไข เปิดเรื่องอีกครั้ง
timeline-rated = ท่านให้คะแนน { $stars } จาก 5
timeline-after-photo = เจ้าหน้าที่แนบภาพหลังดำเนินการ
add-info-prompt = พิมพ์ข้อมูลที่ต้องการเพิ่มได้เลยค่ะ
add-info-done = เพิ่มข้อมูลใน{ $code }แล้ว และส่งต่อให้เจ้าหน้าที่แล้วค่ะ
withdraw-confirm = ต้องการถอนเรื่องนี้ใช่ไหมคะ ถอนแล้วจะเปิดใหม่ไม่ได้
withdraw-done = ถอน{ $code }แล้วค่ะ แจ้งเจ้าหน้าที่ให้ทราบแล้ว

web-privacy-note = แชตนี้ไม่ต้องเข้าสู่ระบบ เรื่องร้องเรียนการทุจริตส่งถึงเจ้าหน้าที่ผู้รับผิดชอบเท่านั้น และเลือกไม่ระบุตัวตนได้

photo-rejected = ขออภัยค่ะ รับรูปนี้ไม่ได้ (ต้องเป็นไฟล์รูป JPEG หรือ PNG ขนาดไม่เกิน ๕ MB)
unsupported-message = ขออภัยค่ะ ตอนนี้อ่านได้เฉพาะข้อความ รูปภาพ และตำแหน่งเท่านั้น เลือกจากเมนู หรือพิมพ์ข้อความได้เลยค่ะ
group-hint = สวัสดีค่ะ ในกลุ่มนี้ตอบเฉพาะเมื่อมีการกล่าวถึงบอท ถ้าต้องการสอบถามหรือร้องเรียน กรุณาแชตส่วนตัวกับบัญชีทางการของ อบต. ค่ะ
staff-new-case = เรื่องใหม่ { $code }
staff-info-added = ผู้แจ้งเพิ่มข้อมูล { $code }
staff-withdrawn = ผู้แจ้งถอนเรื่อง { $code }

menu-link = เชื่อมบัญชีแอปอื่น
link-code = รหัสเชื่อมบัญชีของท่านคือ { $code } (ใช้ได้ ๑๐ นาที ครั้งเดียว) ในแอปแชตอีกแอปหนึ่ง พิมพ์ "เชื่อม { $code }" แล้วจะติดตามเรื่องของท่านได้จากทั้งสองแอป
link-done = เชื่อมบัญชีแล้วค่ะ ติดตามเรื่องที่ส่งไว้ได้จากทั้งสองแอป
link-bad-code = รหัสนี้ใช้ไม่ได้ (ไม่ถูกต้อง ใช้ไปแล้ว หรือหมดอายุ) ขอรหัสใหม่ได้จากเมนู "เชื่อมบัญชีแอปอื่น" ในแอปเดิมค่ะ
link-same-chat = รหัสนี้ต้องพิมพ์ในแอปแชตอีกแอปหนึ่งค่ะ ไม่ใช่แอปที่ขอรหัส

staff-updated = ความคืบหน้า { $code }

enrol-done = ลงทะเบียนแล้วค่ะ บัญชีแชตนี้มีสิทธิ์เป็น{ $role }
enrol-bad-code = รหัสลงทะเบียนนี้ใช้ไม่ได้ (ไม่ถูกต้อง ใช้ไปแล้ว หรือหมดอายุ) กรุณาขอรหัสใหม่จากผู้ดูแลระบบค่ะ
role-resident = ประชาชน
role-village-head = ผู้ใหญ่บ้านหมู่ที่ { $village }
role-staff = เจ้าหน้าที่{ $division }
role-integrity = เจ้าหน้าที่ผู้รับผิดชอบเรื่องร้องเรียนการทุจริต
role-admin = ผู้ดูแลระบบ
staff-queue-title = คิวเรื่องที่ยังไม่ปิด ({ $count } เรื่อง)
staff-queue-empty = ไม่มีเรื่องค้างค่ะ
staff-not-visible = ไม่พบเรื่องนี้ในคิวของท่าน
staff-answer-sent = ส่งคำตอบถึงผู้แจ้งเรื่อง { $code } แล้ว
staff-answer-kept = บันทึกคำตอบใน { $code } แล้ว ผู้แจ้งแบบไม่ระบุตัวตนจะเห็นเมื่อติดตามด้วยเลขรับเรื่อง
staff-status-set = เปลี่ยนสถานะ { $code } เป็น "{ $status }" แล้ว
staff-status-unknown = ไม่รู้จักสถานะนี้ ใช้: รับเรื่อง, กำลังดำเนินการ, เสร็จ, ไม่รับ
staff-reporter-hidden = ปกปิด (เห็นได้เฉพาะเจ้าหน้าที่ผู้รับผิดชอบเรื่องร้องเรียนการทุจริต)
resident-staff-answer = เจ้าหน้าที่ตอบเรื่อง { $code }: { $text }
resident-status-changed = เรื่อง { $code } เปลี่ยนสถานะเป็น "{ $status }"

staff-taken = รับเรื่อง { $code } ไว้ดูแลแล้ว
staff-closed = ปิดเรื่อง { $code } แล้ว และแจ้งผู้แจ้งเรื่องแล้ว ส่งภาพหลังดำเนินการต่อได้เลย (ถ้ามี)

# Staff: forwarding, notes, cards; residents confirming a resolution
staff-forwarded-here = ส่งต่อมาถึงกอง: { $code }
staff-co-responsible = ขอให้ร่วมดำเนินการ { $code }
staff-rated = ผู้แจ้งให้คะแนน { $code }
staff-reopened = ผู้แจ้งแจ้งว่ายังไม่ได้รับการแก้ไข: เปิด { $code } อีกครั้ง
staff-rating = คะแนนความพึงพอใจ: { $stars } จาก 5
staff-forwarded = ส่งต่อ { $code } ให้ { $division } แล้ว
staff-co-added = ขอให้ { $division } ร่วมดำเนินการ { $code } แล้ว
staff-note-kept = บันทึกภายในของ { $code } แล้ว (ผู้แจ้งไม่เห็น)
staff-division-unknown = ไม่รู้จักกองนี้ ใช้ชื่อกอง เช่น กองช่าง หรือรหัส เช่น engineering
button-staff-open = เปิดดู
button-staff-take = รับเรื่อง
button-not-fixed = ยังไม่ได้รับการแก้ไข
resident-resolved-rate = เรื่อง { $code } ดำเนินการเสร็จแล้ว ท่านพอใจเพียงใด? กดให้คะแนน 1–5 ดาว หรือกด "ยังไม่ได้รับการแก้ไข" หากปัญหายังอยู่
rated-thanks = ขอบคุณสำหรับคะแนนค่ะ ความเห็นของท่านช่วยให้ อบต. ปรับปรุงการบริการ
reopened = เปิดเรื่อง { $code } อีกครั้งแล้ว และแจ้งเจ้าหน้าที่แล้วค่ะ
kb-progress-updated = ปรับปรุงเมื่อ { $date }
kb-label-progress = ความคืบหน้า
staff-after-photo = แนบภาพหลังดำเนินการกับ { $code } แล้ว

# Subscriptions and updates
menu-subscribe = รับข่าวสาร
topic-office = ประกาศ อบต.
topic-village = ข่าวหมู่บ้าน
topic-progress = ความคืบหน้ามาตรการ ITA
subscribe-village-prompt = ท่านอยู่หมู่ไหนคะ? เลือกหมู่บ้านเพื่อรับข่าวจากผู้ใหญ่บ้าน (พิมพ์ "หยุด" เมื่อใดก็ได้เพื่อเลิกรับข่าว)
subscribe-no-village = ไม่ระบุหมู่
subscribe-topics-prompt = เลือกเรื่องที่ต้องการรับ (กดเพื่อเลือก/ยกเลิก) แล้วกด "บันทึก" · ตอนนี้: { $summary }
subscribe-save = บันทึก
subscribe-done = บันทึกแล้วค่ะ ท่านจะได้รับข่าว: { $summary } · พิมพ์ "หยุด" เมื่อใดก็ได้เพื่อเลิกรับ
subscribe-stopped = เลิกรับข่าวแล้วค่ะ จะไม่มีข่าวส่งถึงท่านอีก
subscribe-none = ท่านยังไม่ได้รับข่าวสารจากเราค่ะ กด "รับข่าวสาร" หากต้องการ
subscribe-needs-chat-app = การรับข่าวสารต้องใช้ LINE, Facebook Messenger หรือ Telegram ของ อบต. ค่ะ เว็บไซต์ส่งข่าวถึงท่านเองไม่ได้
update-villages-all = ส่งถึงทุกหมู่บ้าน (หรือกดเลือกบางหมู่) แล้วกด "ถัดไป"
update-villages-some = ส่งถึงหมู่ที่ { $villages } แล้วกด "ถัดไป"
update-next = ถัดไป
update-text-prompt = พิมพ์ข้อความข่าว (ไม่เกิน { $max } ตัวอักษร)
update-text-too-long = ข้อความต้องไม่ว่างและไม่เกิน { $max } ตัวอักษร พิมพ์ใหม่อีกครั้งค่ะ
update-attachment-prompt = ส่งรูปภาพหรือตำแหน่งประกอบได้ หรือกด "ข้าม"
update-confirm = ตัวอย่างข่าวด้านบนจะส่งถึงผู้รับ { $count } คน ยืนยันส่งหรือไม่?
update-send = ยืนยันส่ง
update-scheduled = รับข่าวไว้แล้ว จะเริ่มส่งในอีก { $minutes } นาที
update-limit = วันนี้ท่านส่งข่าวครบจำนวนที่กำหนดแล้ว ส่งได้อีกครั้งพรุ่งนี้ค่ะ
update-not-allowed = ท่านไม่มีสิทธิ์ส่งข่าวนี้แล้วค่ะ

# Understanding what residents type (intents) and direct answers from the plan
thanks-reply = ยินดีค่ะ มีอะไรให้ช่วยอีก เลือกจากเมนูหรือพิมพ์มาได้เลยค่ะ
help-reply = พิมพ์เล่าปัญหาได้เลย เช่น "ไฟถนนหน้าวัดดับ" ระบบจะรับเป็นเรื่องร้องเรียน ถามเรื่องแผน ITA เช่น "ใครดูแลงบประมาณ" หรือพิมพ์เลขเรื่องเพื่อติดตาม หรือเลือกจากเมนูค่ะ
not-sure = ขออภัยค่ะ ยังไม่แน่ใจว่าต้องการเรื่องใด เลือกด้านล่าง หรือส่งข้อความนี้ถึงเจ้าหน้าที่ได้ค่ะ
corruption-anonymous-yes = ได้ค่ะ แจ้งเบาะแสการทุจริตแบบไม่ระบุตัวตนได้ ระบบจะไม่เก็บบัญชีแชตของท่านไว้กับเรื่อง และให้ใบรับเรื่องไว้ติดตามแทนค่ะ
intake-description-taken = รับรายละเอียดไว้แล้วค่ะ: “{ $text }”
category-guess = เรื่องนี้น่าจะอยู่ในหมวด “{ $category }” แตะเพื่อยืนยัน หรือเลือกหมวดอื่นค่ะ
kb-quote = “{ $text }”
kb-direct-plan-says = ตามแผน: { $text }
kb-direct-responsible = ผู้รับผิดชอบ: { $divisions } ({ $status })
kb-direct-status = { $status } ตามแผนปี ๒๕๖๔ · ผู้รับผิดชอบ: { $divisions }
kb-direct-channels = มีค่ะ ตามแผน อบต. มีช่องทาง { $channels } ให้ประชาชนติดตามข่าวและเสนอแนะ
kb-direct-no-channels = แผนไม่ได้ระบุช่องทางของเรื่องนี้ค่ะ
kb-direct-measures = มาตรการ: { $measures }
kb-direct-footer = ผู้รับผิดชอบ: { $divisions } · { $status }
kb-direct-meaning = { $acronym } คือ { $name }
kb-meaning-title = { $terms } คืออะไร
kb-channel-website = เว็บไซต์
kb-channel-facebook = เฟซบุ๊ก
kb-channel-line = ไลน์
kb-button-whole = ดูทั้งหมด
kb-button-item = ดู { $item }
kb-word-responsible = รับผิดชอบ

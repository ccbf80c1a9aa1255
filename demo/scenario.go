package demo

import (
	"fmt"
	"time"
)

// at is a Moscow time on a day of November 2026.
func at(day, hh, mm, ss int) time.Time { return time.Date(2026, 11, day, hh, mm, ss, 0, msk) }

// newOrder starts an order registered `lead` before it is delivered, due
// `hours` after registration rounded up to the hour (no due when hours == 0).
func (g *gen) newOrder(client, ext string, obj *object, prob, prio string, delivered time.Time, hours int) *order {
	created := delivered.Add(-time.Duration(40+g.r.IntN(60)) * time.Second)
	o := &order{Client: client, Ext: ext, Obj: obj, Problem: problemByName(prob), Priority: prio, Created: created, Author: randomPerson(g.r)}
	if hours > 0 {
		o.Due = created.Truncate(time.Hour).Add(time.Duration(hours+1) * time.Hour)
	}
	return o
}

// scenario is the demo mailbox, in delivery order: about a week of
// November 2026 in the life of the dispatch desk.
func (g *gen) scenario() {
	obj := func(client string, i int) *object { return g.dir.objectsOf(client)[i] }
	by := func() person { return randomPerson(g.r) }

	// Monday 2 November.
	t := at(2, 8, 12, 31)
	pu1 := g.newOrder("PU", "WO0000001203417", obj("PU", 1), "showcase", "normal", t, 6)
	g.puNew(t, pu1, true, "PU Remedy: new work order; store director in Cc")

	t = at(2, 8, 47, 5)
	pl1 := g.newOrder("PL", "INC0612408", obj("PL", 0), "acquiring", "high", t, 4)
	g.plNew(t, pl1, true, "PL ServiceNow: new order")

	t = at(2, 9, 20, 44)
	vr1 := g.newOrder("VR", "428315", obj("VR", 2), "clog", "low", t, 72)
	g.vrNew(t, vr1, "kladr", "VR Naumen: new order; store by address only (kladr style)")

	t = at(2, 9, 58, 12)
	mg1 := g.newOrder("MG", "SRV-52107", obj("MG", 0), "chest", "high", t, 6)
	g.mgNew(t, mg1, true, "MG Jira: new order; store code in summary and field")

	t = at(2, 10, 31, 50)
	ok1 := g.newOrder("OK", "00000061233", obj("OK", 3), "breaker", "normal", t, 20)
	g.okNew(t, ok1, "OK Itilium: new order")

	t = at(2, 11, 5, 9)
	dm1 := g.newOrder("DM", "ЗНО-0245118", obj("DM", 1), "autodoor", "normal", t, 24)
	g.dmNew(t, dm1, "DM XML: new order")

	t = at(2, 11, 40, 27)
	sb1o := obj("SB", 0)
	sb1 := &order{Client: "SB", Obj: sb1o, Problem: problemByName("hall-light")}
	g.freeTicket(t, sb1, letter{
		Client: "outlook", FromName: sb1o.Director.Full(), From: sb1o.CorpEmail,
		Subject: "Не горит свет в зале",
		Body: fmt.Sprintf("Добрый день!\n\nАптека %s. %s\n\nПрошу прислать мастера.\n\n%s\n",
			sb1o.Code, problemByName("hall-light").Free, signature(sb1o, pharmacyHead(sb1o))),
	}, "free text from store director (corporate mailbox, outlook); store code in text")

	g.puUpdate(at(2, 12, 15, 3), pu1, update{Kind: "status", By: by()}, "PU Remedy: status -> В работе")

	g.newsletter(at(2, 12, 50, 40))

	t = at(2, 13, 26, 18)
	pu2 := g.newOrder("PU", "INC000024815531", obj("PU", 4), "alarm", "normal", t, 24)
	g.puNew(t, pu2, true, "PU Remedy: new incident; store director in Cc")

	t = at(2, 14, 3, 55)
	mg2o := obj("MG", 3)
	mg2 := &order{Client: "MG", Obj: mg2o, Problem: problemByName("aircon"), Priority: "high"}
	g.freeTicket(t, mg2, letter{
		Client: "iphone", FromName: mg2o.Director.Full(), From: mg2o.PersonalEmail,
		Subject: "СРОЧНО кондиционер",
		Body:    fmt.Sprintf("Здравствуйте!\n\nМагазин %s. %s\n\n%s\n", mg2o.Code, problemByName("aircon").Free, mg2o.Director.First),
		Zone:    5 * time.Hour,
	}, "free text from store director (personal mailbox, iphone); store code in text; marked urgent")

	t = at(2, 15, 10, 2)
	vr2 := g.newOrder("VR", "428562", obj("VR", 4), "printer", "normal", t, 6)
	g.vrNew(t, vr2, "postcode", "VR Naumen: new order; store by address only (postcode style)")

	g.plUpdate(at(2, 16, 2, 36), pl1, update{Kind: "comment", By: by(), Text: "Магазин сообщает, что оплата картами недоступна на всех кассах."}, "PL ServiceNow: comment added")

	t = at(2, 17, 35, 11)
	{
		o := pu2.Obj
		noticeSent := pu2.Created.Add(20 * time.Second)
		quote := outlookQuote("Служба поддержки «Пятый угол» <remedy-noreply@sd.pyatugol.ru>", noticeSent, zayavki, pu2.Subject,
			"Вашей группе поддержки назначен инцидент.\n\nНомер инцидента: "+pu2.Ext+"\nКраткое описание: "+pu2.Problem.Summary+"\nПлощадка: "+o.Code+" "+o.Name+"\n")
		raw, _ := g.write(t, letter{
			Client: "outlook", FromName: o.Director.Full(), From: o.CorpEmail, To: "dispetcher@tehservis.example",
			Subject:   "RE: " + pu2.Subject,
			Body:      "Здравствуйте.\n\nСегодня ночью опять было срабатывание, охрана приезжала дважды. Когда будет мастер?\n\nС уважением\n" + signature(o, "Директор магазина") + "\n" + quote,
			InReplyTo: pu2.MsgID,
		})
		g.emit(t, raw, pu2.label("", "follow_up", "reply by store director to the Remedy notice; threaded by In-Reply-To/References", pu2.File))
	}

	// Tuesday 3 November.
	t = at(3, 8, 5, 40)
	ok2o := obj("OK", 0)
	ok2 := &order{Client: "OK", Obj: ok2o, Problem: problemByName("tap"), Due: at(4, 18, 0, 0)}
	g.freeTicket(t, ok2, letter{
		Client: "thunderbird", FromName: ok2o.Director.Full(), From: ok2o.CorpEmail,
		Subject: "Течёт кран на мойке",
		Body: fmt.Sprintf("Добрый день!\n\n%s\n\nПрошу устранить до 04.11.2026 18:00, вечером приёмка товара.\n\n--\n%s\nДиректор магазина %s\n%s\n",
			problemByName("tap").Free, ok2o.Director.Full(), ok2o.Code, ok2o.Phone),
	}, "free text from store director (corporate mailbox, thunderbird); store code in signature; explicit due date and time")

	t = at(3, 8, 44, 21)
	mg3 := g.newOrder("MG", "SRV-52236", obj("MG", 5), "hall-light", "normal", t, 48)
	g.mgNew(t, mg3, false, "MG Jira: new order; store code only in the summary")

	g.dmUpdate(at(3, 9, 30, 7), dm1, update{Kind: "priority", Priority: "high"}, "DM XML: priority -> high")

	g.outOfOffice(at(3, 10, 2, 33), vr1.Obj, "Заявка принята: "+vr1.Problem.Summary+" (запрос №"+vr1.Ext+")", "16.11.2026")

	g.emit(at(3, 10, 20, 5), g.redeliver(g.files["mail/"+mg3.File], at(3, 10, 20, 5)),
		mg3.label("", "duplicate", "duplicate of an earlier message, same Message-ID, re-delivered via a second MX (extra Received header)", mg3.File))

	t = at(3, 11, 15, 48)
	sb2o := obj("SB", 3)
	sb2 := &order{Client: "SB", Obj: sb2o, Problem: problemByName("socket")}
	g.freeTicket(t, sb2, letter{
		Client: "android", FromName: sb2o.Director.Full(), From: sb2o.PersonalEmail,
		Subject: "Розетка",
		Body: fmt.Sprintf("Здравствуйте, аптека на %s %s, %d (%s).\n%s\n%s\n",
			sb2o.Street.Kind, sb2o.Street.Name, sb2o.House, sb2o.City.Name, problemByName("socket").Free, sb2o.Director.Full()),
	}, "free text from store director (personal mailbox, android); store by address in text")

	g.vrUpdate(at(3, 11, 48, 30), vr1, update{Kind: "status"}, "kladr", "VR Naumen: status -> В работе")

	t = at(3, 12, 30, 14)
	pu3 := g.newOrder("PU", "WO0000001203698", obj("PU", 7), "tile", "high", t, 24)
	g.puNew(t, pu3, false, "PU Remedy: new work order")

	g.bounce(at(3, 13, 10, 26), obj("OK", 2).CorpEmail, "Заявка принята: "+ok1.Problem.Summary, "mailbox is full: retry timeout exceeded")

	g.okUpdate(at(3, 14, 0, 41), ok1, update{Kind: "closed", Text: "Заменён автоматический выключатель, линия пекарни под нагрузкой."}, "OK Itilium: closed/resolved")

	t = at(3, 14, 45, 3)
	{
		body := "Здравствуйте!\n\nУ нас в магазине на кассе не работает терминал, картой оплатить нельзя. Пришлите мастера, пожалуйста.\n\nНаталья\n"
		mustMatch("pos_it", body)
		raw, _ := g.write(t, letter{Client: "android", FromName: "Наталья", From: "natali.shop77@mail.example", Subject: "Не работает терминал", Body: body})
		g.emit(t, raw, Label{Kind: "unmatched", Category: opt("pos_it"), Note: "unknown personal mailbox; no store code, address or signature"})
	}

	g.mgUpdate(at(3, 15, 20, 9), mg1, update{Kind: "due", Due: mg1.Due.Add(24 * time.Hour), By: by()}, "MG Jira: due date moved")

	t = at(3, 16, 5, 37)
	pl2 := g.newOrder("PL", "INC0613077", obj("PL", 4), "cctv", "critical", t, 4)
	g.plNew(t, pl2, false, "PL ServiceNow: new order; no category field")

	t = at(3, 16, 40, 52)
	{
		o := sb1.Obj
		quote := outlookQuote(o.Director.Full()+" <"+o.CorpEmail+">", at(2, 11, 39, 0), zayavki, sb1.Subject, fmt.Sprintf("Добрый день!\n\nАптека %s. %s\n", o.Code, sb1.Problem.Free))
		raw, _ := g.write(t, letter{
			Client: "outlook", FromName: o.Director.Full(), From: o.CorpEmail,
			Subject:   "RE: " + sb1.Subject,
			Body:      "Коллеги, СРОЧНО! Вечером в зале совсем темно, работать невозможно.\n\n" + o.Director.Full() + "\n" + quote,
			InReplyTo: sb1.MsgID,
		})
		sb1.Priority = "high"
		g.emit(t, raw, sb1.label("", "follow_up", "reply by store director (urgent); threaded by In-Reply-To/References", sb1.File))
	}

	t = at(3, 17, 25, 19)
	dm2 := g.newOrder("DM", "ЗНО-0245467", obj("DM", 4), "curtain", "normal", t, 24)
	g.dmNew(t, dm2, "DM XML: new order")

	// Wednesday 4 November.
	g.vrUpdate(at(4, 8, 10, 2), vr2, update{Kind: "closed", Text: "Заменена термоголовка принтера, чеки печатаются."}, "postcode", "VR Naumen: closed/resolved")

	t = at(4, 9, 0, 45)
	pu4o := obj("PU", 5)
	pu4 := &order{Client: "PU", Obj: pu4o, Problem: problemByName("printer")}
	g.freeTicket(t, pu4, letter{
		Client: "outlook", FromName: pu4o.Director.Full(), From: pu4o.CorpEmail,
		Subject: "Заявка",
		Body: fmt.Sprintf("Здравствуйте,\n\nмагазин %s, %s %s, д. %d. %s\n\n%s\n",
			pu4o.City.Name, pu4o.Street.Kind, pu4o.Street.Name, pu4o.House, problemByName("printer").Free, signature(pu4o, "Директор магазина")),
	}, "free text from store director (corporate mailbox, outlook); store by address in text")

	g.mgUpdate(at(4, 9, 45, 13), mg1, update{Kind: "closed", By: by()}, "MG Jira: closed/resolved")

	g.plUpdate(at(4, 10, 30, 58), pl1, update{Kind: "closed", Text: "Терминал перепрошит, оплата картами проходит."}, "PL ServiceNow: closed/resolved")

	g.puUpdate(at(4, 11, 15, 26), pu3, update{Kind: "due", Due: pu3.Due.Add(48 * time.Hour), Text: "По согласованию с директором магазина.", By: by()}, "PU Remedy: due date moved")

	t = at(4, 12, 0, 4)
	{
		o := dm2.Obj
		raw, _ := g.write(t, letter{
			Client: "thunderbird", FromName: o.Director.Full(), From: o.CorpEmail,
			Subject: "Заявка " + dm2.Ext,
			Body:    fmt.Sprintf("Добрый день!\n\nПодскажите, когда приедет мастер по заявке %s? Никто не звонил.\n\n%s\nДиректор магазина\nтел. %s\n", dm2.Ext, o.Director.Full(), o.Phone),
		})
		g.emit(t, raw, dm2.label("", "follow_up", "store director refers to the order number in text; no threading headers", dm2.File))
	}

	t = at(4, 13, 20, 30)
	ok3 := g.newOrder("OK", "00000061518", obj("OK", 4), "chest", "critical", t, 3)
	g.okNew(t, ok3, "OK Itilium: new order")

	g.puUpdate(at(4, 14, 5, 17), pu1, update{Kind: "closed", Text: "Заменено пусковое реле компрессора, температура в норме.", By: by()}, "PU Remedy: closed/resolved")

	t = at(4, 15, 0, 51)
	vr3o := obj("VR", 6)
	vr3 := &order{Client: "VR", Obj: vr3o, Problem: problemByName("tile"), Priority: "high"}
	g.freeTicket(t, vr3, letter{
		Client: "outlook", FromName: vr3o.Director.Full(), From: vr3o.CorpEmail,
		Subject: "Плитка у входа",
		Body: fmt.Sprintf("Добрый день!\n\nг. %s, %s %s, %d.\n%s\nПросим срочно!\n\n%s\n",
			vr3o.City.Name, vr3o.Street.Kind, vr3o.Street.Name, vr3o.House, problemByName("tile").Free, signature(vr3o, "Директор магазина")),
	}, "free text from store director (corporate mailbox, outlook); store by address in text; marked urgent")

	g.mgUpdate(at(4, 15, 40, 6), mg3, update{Kind: "priority", Priority: "critical", By: by()}, "MG Jira: priority -> critical")

	g.dmUpdate(at(4, 16, 30, 25), dm1, update{Kind: "closed", Text: "Отрегулирован датчик движения, дверь закрывается."}, "DM XML: closed/resolved")

	t = at(4, 17, 10, 47)
	sb3o := obj("SB", 5)
	sb3 := &order{Client: "SB", Obj: sb3o, Problem: problemByName("closer"), Priority: "high"}
	g.freeTicket(t, sb3, letter{
		Client: "outlook", FromName: sb3o.Director.Full(), From: sb3o.CorpEmail, Urgent: true,
		Subject: "Доводчик на складе " + sb3o.Code,
		Body:    fmt.Sprintf("Здравствуйте!\n\n%s\nВ аптеке %s склад не запирается.\n\n%s\n", problemByName("closer").Free, sb3o.Code, signature(sb3o, pharmacyHead(sb3o))),
	}, "free text from store director (corporate mailbox, outlook); store code in text; Importance: High")

	// Thursday 5 November.
	g.okUpdate(at(5, 9, 5, 33), ok3, update{Kind: "status"}, "OK Itilium: status -> В работе")

	g.equipmentLetters()
}

package parsers

import "time"

// Address is a decoded mail address.
type Address struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email"` // lower-cased
}

// Attachment describes one attachment. Text holds the decoded content of
// XML/JSON/CSV/TXT attachments (converted to UTF-8; at most its first MiB,
// see maxTextAttach), empty for others. Size and SHA256 are always of the
// whole content.
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	Text        string `json:"text,omitempty"`
}

// Document is a normalized message: what extraction and rules look at.
type Document struct {
	MessageID  string              `json:"message_id"` // without angle brackets
	InReplyTo  []string            `json:"in_reply_to,omitempty"`
	References []string            `json:"references,omitempty"`
	From       Address             `json:"from"`
	ReplyTo    []Address           `json:"reply_to,omitempty"`
	To         []Address           `json:"to,omitempty"`
	Cc         []Address           `json:"cc,omitempty"`
	Subject    string              `json:"subject"`
	Date       time.Time           `json:"date"`
	Header     map[string][]string `json:"header"` // canonical keys, decoded values
	// Text is the whole text body: text/plain when present, else a rendering of
	// the HTML in which table rows become "label: value" lines.
	Text string `json:"text"`
	// NewText is Text without quoted history, forwarded blocks and signature.
	NewText   string       `json:"new_text"`
	Quoted    string       `json:"quoted,omitempty"`
	Signature string       `json:"signature,omitempty"`
	HTML      string       `json:"-"`
	Tables    [][][]string `json:"tables,omitempty"` // tables -> rows -> cells
	// Attachments excludes the forwarded message itself.
	Attachments []Attachment `json:"attachments,omitempty"`
	// Forwarded is the inner message of a forward (message/rfc822 part or an
	// inline "Forwarded message" block), nil when there is none.
	Forwarded *Document `json:"forwarded,omitempty"`
	// Inline is true for a Forwarded document rebuilt from a forward block
	// pasted into the text (its header fields come from that block's lines),
	// false for a message/rfc822 part or a real message.
	Inline bool `json:"inline,omitempty"`
	// Warnings lists what was repaired or guessed (bad charset, broken base64...).
	Warnings []string `json:"warnings,omitempty"`

	textFold  foldMemo     // Text case-folded, for label search by every format tried
	xml       xmlMemo      // the tokens of the XML attachment read last, for every xpath extractor
	tableKeys tableKeyMemo // the cells of Tables as labels, for every table extractor

	Size int `json:"size"`
}

// Fields are what extraction found. Empty strings and nil mean unknown.
type Fields struct {
	Format      string     `json:"format,omitempty"` // name of the format used; "" for free text
	Client      string     `json:"client,omitempty"`
	ExternalID  string     `json:"external_id,omitempty"`
	ObjectCode  string     `json:"object_code,omitempty"`
	ObjectName  string     `json:"object_name,omitempty"`
	Address     string     `json:"address,omitempty"`
	Problem     string     `json:"problem,omitempty"`
	CategoryRaw string     `json:"category_raw,omitempty"` // the client's own category text
	Category    string     `json:"category,omitempty"`     // our category code
	PriorityRaw string     `json:"priority_raw,omitempty"`
	Priority    string     `json:"priority,omitempty"` // critical|high|normal|low
	Due         *time.Time `json:"due,omitempty"`
	Status      string     `json:"status,omitempty"` // the client's status text, for follow-ups
	// Event is what a notification announces: "new", "update", "closed",
	// "cancelled", "comment"; "" when unknown (free text).
	Event  string   `json:"event,omitempty"`
	Phones []string `json:"phones,omitempty"` // E.164
	Emails []string `json:"emails,omitempty"`
	// Codes are candidate store codes seen in free text (raw, not folded).
	Codes []string `json:"codes,omitempty"`
	// Refs are ticket numbers the text refers to (the client's or ours).
	Refs []string `json:"refs,omitempty"`
	// Serial is an equipment serial number given in a field of its own (a
	// form, an API request, a connector record).
	Serial string            `json:"serial,omitempty"`
	Urgent bool              `json:"urgent,omitempty"`
	Extra  map[string]string `json:"extra,omitempty"`
}

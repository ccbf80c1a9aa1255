package routing

// The reasons matching and assignment give, as format strings: the code
// formats them with these constants only, so that the dispatchers' pages
// can translate every one (web's message catalogue checks it has them all).
const (
	ReasonNoStore       = "no store: nobody to send"
	ReasonForced        = "forced by rule: %s"
	ReasonRuleNotElig   = "; rule's engineer %s not eligible (%s)"
	ReasonOffered       = "offered to %d of %d eligible"
	ReasonFixed         = "store's fixed engineer"
	ReasonPreferred     = "preferred by rule"
	ReasonNearest       = "nearest eligible (%.1f km, load %d, rating %.2f) of %d"
	ReasonFixedNot      = "; fixed engineer %s %s"
	ReasonNobodyCovers  = "no eligible engineer: nobody covers OKTMO %s or is based near %s/%s"
	ReasonNoneEligible  = "no eligible engineer: %d considered, %s"
	ReasonRejectedCount = "%d %s"
	ReasonWithout       = "without %s"
	ReasonEligible      = "eligible"
	ReasonUnknownEng    = "unknown engineer"

	ReasonCode          = "store code %s"
	ReasonCodeInText    = "store code in text %s"
	ReasonAsStoreNumber = "%q as store number"
	ReasonSender        = "sender %s is the store's contact"
	ReasonPhone         = "phone %s is the store's contact"
	ReasonAddress       = "address in %s: %s"
	ReasonAddressUnsure = "address in %s not certain: %s"
	ReasonName          = "store name mentioned"
	ReasonNoAddress     = "no store code, known sender or phone; no address of a store found"
	ReasonNothing       = "no store code, known sender, phone or address"
	ReasonAddrField     = "address field"
	ReasonAddrText      = "text"
	ReasonNoStreet      = "no store has this street and house"
	ReasonContradicts   = "street and house found but the rest contradicts"
	ReasonSeveral       = "several stores fit about equally (%s)"
	ReasonOnlyStore     = ", only store of the client with this street and house"
)

// Reasons lists every reason format above.
var Reasons = []string{
	ReasonNoStore, ReasonForced, ReasonRuleNotElig, ReasonOffered, ReasonFixed, ReasonPreferred, ReasonNearest, ReasonFixedNot,
	ReasonNobodyCovers, ReasonNoneEligible, ReasonRejectedCount, ReasonWithout, ReasonEligible, ReasonUnknownEng,
	ReasonCode, ReasonCodeInText, ReasonAsStoreNumber, ReasonSender, ReasonPhone, ReasonAddress, ReasonAddressUnsure, ReasonName,
	ReasonNoAddress, ReasonNothing, ReasonAddrField, ReasonAddrText, ReasonNoStreet, ReasonContradicts, ReasonSeveral, ReasonOnlyStore,
}

// RejectReasons lists the reasons an engineer is not eligible
// (Considered.Rejected).
var RejectReasons = []string{RejectInactive, RejectBlacklisted, RejectCompetence, RejectArea, RejectCapacity, RejectExcluded}

// Methods lists how a store can be found (Match.Method).
var Methods = []string{MethodCode, MethodContact, MethodPhone, MethodAddress, MethodName}

// The parts of an address match (joined by "+" in its reason).
const (
	PartStreet     = "street"
	PartStreetType = "street type differs"
	PartLetter     = "house letter differs"
	PartHouse      = "house"
	PartKorpus     = "korpus/stroenie differ"
	PartCity       = "city"
	PartOtherCity  = "other city named"
	PartPostcode   = "postcode"
)

// AddressParts lists the parts of an address match.
var AddressParts = []string{PartStreet, PartStreetType, PartLetter, PartHouse, PartKorpus, PartCity, PartOtherCity, PartPostcode}

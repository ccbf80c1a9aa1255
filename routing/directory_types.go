package routing

// Client is a retail chain that sends us work orders.
type Client struct {
	Code          string   `json:"code"`
	Name          string   `json:"name"`
	LegalEntities []string `json:"legal_entities"`
	Domains       []string `json:"domains"`
	// BusinessHours, when set, makes SLA clocks of this client run only in
	// its working hours; nil means around the clock.
	BusinessHours *BusinessHours `json:"business_hours,omitempty"`
}

// Object is a service object: one store of a client.
type Object struct {
	Client      string  `json:"client"`
	Code        string  `json:"code"`
	Name        string  `json:"name"`
	Address     string  `json:"address"`
	City        string  `json:"city"`
	Region      string  `json:"region"`
	OKTMO       string  `json:"oktmo"`
	Lat         float64 `json:"lat"`
	Lon         float64 `json:"lon"`
	HasGeo      bool    `json:"has_geo"`
	LegalEntity string  `json:"legal_entity"`
	Engineer    string  `json:"engineer"` // fixed engineer code, "" when none
}

// Engineer statuses.
const (
	EngineerActive      = "active"
	EngineerPending     = "pending"
	EngineerBlacklisted = "blacklisted"
)

// Engineer is a field engineer (or contractor) who can be assigned tickets.
type Engineer struct {
	Code        string   `json:"code"`
	Name        string   `json:"name"`
	Email       string   `json:"email"`
	Phone       string   `json:"phone"`
	Competences []string `json:"competences"`
	Areas       []string `json:"areas"` // OKTMO codes (prefixes cover sub-areas)
	Lat         float64  `json:"lat"`
	Lon         float64  `json:"lon"`
	RadiusKm    float64  `json:"radius_km"`
	MaxOpen     int      `json:"max_open"`
	Status      string   `json:"status"`
	Rating      float64  `json:"rating"`
}

// Contact is a person at a client: a store director (Object set) or a regional
// director and similar roles (Object empty).
type Contact struct {
	Client string `json:"client"`
	Object string `json:"object"`
	Name   string `json:"name"`
	Role   string `json:"role"`
	Email  string `json:"email"`
	Phone  string `json:"phone"`
}

// Category is a kind of work; it names the competence an engineer needs and the
// default SLA. Keywords is a regular-expression alternation matched against the
// problem text (case-insensitive).
type Category struct {
	Code       string  `json:"code"`
	Name       string  `json:"name"`
	Competence string  `json:"competence"`
	SLAHours   float64 `json:"sla_hours"`
	Keywords   string  `json:"keywords"`
}

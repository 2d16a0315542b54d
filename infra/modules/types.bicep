// Types shared by main.bicep and its modules.

@export()
@description('An EHR allowed to launch the smart-app (DESIGN.md §6: only EHRs on this list, matched by iss).')
type ehr = {
  @description('Shown to people: the EHR\'s or organisation\'s name.')
  name: string

  @description('The EHR\'s FHIR base URL, exactly as it sends it in the launch\'s iss parameter.')
  iss: string

  @description('The client_id the EHR gave the smart-app when it was registered there (public; not a secret).')
  clientId: string

  @description('The scopes to request, space separated (SMART v2, e.g. "launch openid fhirUser patient/Patient.rs ...").')
  scopes: string

  @description('Whether the EHR takes the sent referral (ServiceRequest): the functions write-back, its one writer, creates it there (Ehrs__N__WriteServiceRequest; needs backendClientId). The smart-app never writes into the EHR.')
  acceptsWrites: bool

  @description('The OpenID Connect issuer of its id_tokens, when its SMART configuration names none.')
  openIdIssuer: string?

  @description('The IANA time zone of the practices that prescribe from this EHR (e.g. America/Chicago): a referral\'s validity dates are days there. Default: practiceTimeZone.')
  timeZone: string?

  @description('The client_id the EHR gave the functions app\'s SMART Backend Services registration; without it nothing is written back to this EHR.')
  backendClientId: string?

  @description('Where the EHR publishes the keys it signs its CDS Hooks calls with (configured out of band, never taken from a token\'s jku). With it, the EHR may call the API\'s CDS services (CdsHooks__Clients__N); without it, it may not.')
  cdsHooksJwksUrl: string?

  @description('The iss of the EHR\'s CDS Hooks JWTs, exactly as it signs it. Default: iss.')
  cdsHooksIssuer: string?

  @description('The longest lifetime (exp - iat) accepted for its CDS Hooks JWTs, hh:mm:ss (Epic\'s example JWT lives 00:15:00). Default: 00:05:00.')
  cdsHooksMaxTokenLifetime: string?
}

@export()
@description('Names of the signing keys in Key Vault.')
type signingKeyNames = {
  @description('RS384 client assertion key of the smart-app (private_key_jwt).')
  smartAppClientRsa: string

  @description('ES384 client assertion key of the smart-app (private_key_jwt).')
  smartAppClientEc: string

  @description('The key the smart-app signs its per-call tokens for the functions API with.')
  smartAppApiSigning: string

  @description('The functions app\'s SMART Backend Services client assertion key.')
  functionsBackendServices: string
}

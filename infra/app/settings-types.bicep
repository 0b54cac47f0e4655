// The app's tunable settings, as main.bicep takes them. Every value is optional: one left out becomes an empty app
// setting, which the app reads as "not set" (its default). README › Configuration says what each one means.

@export()
@description('Verification:* (the secret CodeKey is a parameter of its own).')
type verificationSettings = {
  codeLength: string?
  codeLifetime: string?
  whatsAppDeliveryTimeout: string?
  failoverWhen: ('Delivered' | 'Read')?
  failoverIfUnverifiedAfter: string?
  reconcileInterval: string?
  maxCheckAttempts: string?
  brand: string?
  @description('BCP 47, e.g. en or pt-BR: the language of a verification started without a locale.')
  defaultLocale: string?
  @description('The channels in the order they are tried, comma-separated: whatsapp, sms (the default), sms, or whatsapp.')
  channels: string?
  @description('Per country (ISO 3166-1 alpha-2), its own ordered channels: { US: \'sms\', BR: \'whatsapp, sms\' }.')
  channelsByCountry: object?
  @description('Let a start\'s own channels name any configured channel, not only its country\'s (off by default).')
  allowChannelsBeyondCountry: bool?
  @description('When SMS is not the last channel: how long to wait for its delivery report before the next one (off by default).')
  smsDeliveryTimeout: string?
  @description('When email is not the last channel: how long to wait for its delivery report before the next one (off by default).')
  emailDeliveryTimeout: string?
}

@export()
@description('WhatsApp:* (the access token, app secret and verify token are parameters of their own).')
type whatsAppSettings = {
  phoneNumberId: string?
  templateName: string?
  templateLanguage: string?
  @description('Meta language codes the template is approved in, comma-separated (en_US, es, pt_BR).')
  templateLanguages: string?
  baseUrl: string?
  apiVersion: string?
  requestTimeout: string?
  maxSendAttempts: string?
}

@export()
@description('Sms:* (the endpoint and the identity come from the deployment; the webhook key is a parameter of its own).')
type smsSettings = {
  from: string?
  webOtpDomain: string?
  apiVersion: string?
  requestTimeout: string?
  maxSendAttempts: string?
}

@export()
@description('Email:* (the endpoint and the identity come from the deployment). The channel is on once from is given: a sender address of a domain linked to the Communication Services resource.')
type emailSettings = {
  @description('Make an Email Communication Service with an Azure-managed domain linked to the resource; from then defaults to its DoNotReply address.')
  managedDomain: bool?
  from: string?
  apiVersion: string?
  requestTimeout: string?
  maxSendAttempts: string?
}

@export()
@description('Retention:* (README › Retention).')
type retentionSettings = {
  @description('NCRONTAB, UTC. Never empty: the purge\'s timer trigger reads it.')
  schedule: string?
  keepEndedFor: string?
  @description('How long one purge may run (below the Functions timeout); a backlog is worked off over several runs.')
  maxRunTime: string?
}

@export()
@description('Callbacks:* (README › Status callbacks; the signing key is a parameter of its own).')
type callbackSettings = {
  @description('The receiver of every verification started without a callbackUrl of its own (https).')
  url: string?
  @description('Hosts a start\'s own callbackUrl may name, comma-separated: hooks.example.com or *.example.com.')
  allowedHosts: string?
  @description('Let callbacks connect to private and shared addresses (a receiver inside your virtual network).')
  allowPrivateNetworks: bool?
  retryFor: string?
  firstRetryInterval: string?
  maximumRetryInterval: string?
  requestTimeout: string?
}

@export()
@description('A sliding-window limit: how many, and in how long (a TimeSpan such as 01:00:00).')
type rateLimit = {
  limit: string?
  window: string?
}

@export()
@description('Abuse:* (README › Abuse protection).')
type abuseSettings = {
  allowedCountries: string?
  blockedCountries: string?
  allowedNumberTypes: string?
  startsPerNumber: rateLimit?
  startsPerNumberDaily: rateLimit?
  smsPerNumber: rateLimit?
  failedChecksPerNumber: rateLimit?
  startsPerClient: rateLimit?
  emailPerAddress: rateLimit?
  @description('Email domains a start may not name (throwaway mailboxes), comma-separated; subdomains are refused too.')
  disposableEmailDomains: string?
  smsPerCountryPerHour: string?
  @description('Overrides of the hourly SMS budget by country code, e.g. { IN: 5000, NG: 0 }.')
  smsPerCountryPerHourByCountry: object?
}

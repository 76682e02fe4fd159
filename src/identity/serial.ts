// Certificate serial numbers as the data path compares them. Kept apart from crl.ts so the
// node tunnel's data path does not load the X.509/ASN.1 library (~15 MB of RSS per process).

/** Lower-case hex without leading zeros, whatever case and padding the source used. */
export const normalizeSerial = (hex: string): string => hex.toLowerCase().replace(/^0+(?=.)/, '');

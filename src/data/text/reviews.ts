/**
 * The Multi-Domain Sentiment Dataset's pseudo-XML `.review` files (Blitzer et al., ACL 2007):
 * `<review>` records with `<rating>`, `<title>` and `<text>` fields (some releases nest the text
 * in `<Text>` elements, and the "processed" releases carry `unique_id`, `product_name`, ...).
 * Not real XML (no escaping, stray `&` and `<`), so it is parsed by field tags, not an XML parser.
 */
import { TransferKitError } from '../../errors.js';

/** One review. */
export interface Review {
  /** Star rating (1-5), NaN when absent. */
  rating: number;
  title: string;
  text: string;
}

function field(record: string, tag: string): string | undefined {
  const open = record.indexOf(`<${tag}>`);
  if (open < 0) return undefined;
  const close = record.indexOf(`</${tag}>`, open);
  if (close < 0) return undefined;
  // Drop the optional inner <Text> wrapper and surrounding whitespace.
  return record
    .slice(open + tag.length + 2, close)
    .replace(/<\/?Text>/g, '')
    .trim();
}

/**
 * Parses the records of a `.review` file. `source` names the file in errors.
 * @throws E_DATA when the text holds no `<review>` record.
 */
export function parseReviews(content: string, source = 'reviews'): Review[] {
  const out: Review[] = [];
  let pos = 0;
  for (;;) {
    const start = content.indexOf('<review>', pos);
    if (start < 0) break;
    const end = content.indexOf('</review>', start);
    if (end < 0) throw new TransferKitError('E_DATA', `${source}: a <review> record starting at character ${start} has no closing </review>. The file is truncated.`);
    const rec = content.slice(start, end);
    const rating = Number.parseFloat(field(rec, 'rating') ?? 'NaN');
    out.push({ rating, title: field(rec, 'title') ?? '', text: field(rec, 'text') ?? field(rec, 'review_text') ?? '' });
    pos = end + 9;
  }
  if (out.length === 0) throw new TransferKitError('E_DATA', `${source}: no <review> records found. Expected the Multi-Domain Sentiment Dataset's .review format.`);
  return out;
}

/** Title and text joined, as the usual input of a review classifier. */
export function reviewText(r: Review): string {
  return r.title === '' ? r.text : `${r.title}. ${r.text}`;
}
